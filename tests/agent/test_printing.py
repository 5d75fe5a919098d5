"""How a test page ended, read from ``lpstat -l -W completed`` (listings as CUPS 2.4 prints them)."""

from __future__ import annotations

from agent.printing import job_end

# Captured from a lab cupsd: a printed job, one canceled while its printer was unreachable, and
# the lines an aborted job carries (job-state-reasons "aborted-by-system").
LISTING = """\
office_printer-1        root              1024   Mon Nov 23 17:09:31 2026
\tStatus:
\tAlerts: job-completed-successfully
\tqueued for office_printer
office_printer-2        root              1024   Mon Nov 23 17:10:23 2026
\tStatus: The printer may not exist or is unavailable at this time.
\tAlerts: job-canceled-by-user
\tqueued for office_printer
office_printer-3        root              1024   Mon Nov 23 17:11:02 2026
\tStatus: Unable to send data to printer.
\tAlerts: aborted-by-system
\tqueued for office_printer
"""


def test_a_printed_job_is_completed() -> None:
    assert job_end(LISTING, "office_printer-1") == "completed"


def test_canceled_and_aborted_jobs_are_not_called_completed() -> None:
    assert job_end(LISTING, "office_printer-2") == (
        "canceled: The printer may not exist or is unavailable at this time."
    )
    assert job_end(LISTING, "office_printer-3") == "aborted: Unable to send data to printer."


def test_a_job_not_yet_ended_or_another_queues_is_none() -> None:
    assert job_end(LISTING, "office_printer-4") is None
    assert job_end(LISTING, "office_printer-") is None
    assert job_end("", "office_printer-1") is None


def test_a_listing_without_details_still_says_completed() -> None:
    # ``lpstat`` without -l (or a CUPS that sends no job-state-reasons): the job is listed, nothing else.
    listing = "office_printer-7  root  1024   Mon Nov 23 17:09:31 2026\n"
    assert job_end(listing, "office_printer-7") == "completed"
