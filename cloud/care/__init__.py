"""Proactive care: cap warnings before the cap, the daily list of homes whose traffic changed,
offline and device alerts, and their delivery (docs/care.md).

records    the JSON Lines hourly record of the offline entry point
baseline   each home's normal: medians and MADs per hour, weekdays and weekends pooled
identity   one device, one history: which MACs of a home are one device after a MAC rotation
detector   findings, reasons in words, next steps, ranking, CSR feedback
degraded   connectivity degraded against the home's own baseline: episodes, raised once, cleared
projection where the cycle will end, warning texts, the next-plan-up offer
alerts     what is due for whom, from the database
delivery   the outbox: once-only keys, SMTP, signed webhooks, back-off, dead letters
egress     where a webhook may connect: public addresses and the operator's allowlist, checked
           on the address the socket opens (no DNS rebinding), no proxy, no redirects
loop       the periodic pass in `serve`, and `care run-once`
offline    `homediag-cloud care daily-list --input records.jsonl`
"""

from .alerts import cycle_projection
from .baseline import History, build_baseline, history_from_records
from .delivery import Message, RetryPolicy, SmtpSender, WebhookSender, deliver_due, enqueue, sign, verify
from .detector import Entry, Feedback, FeedbackIndex, Finding, daily_list, detect, rank
from .egress import EgressPolicy, EgressRefused, checked_opener, policy_for
from .identity import Sighting, is_randomized, merge_rotations
from .loop import CareLoop, run_care_once
from .offline import offline_daily_list
from .projection import Plan, Projection, plan_offer, project, top_device, warning_text
from .records import HourRecord, ParsedRecords, Rejected, parse_lines

__all__ = [
    "CareLoop",
    "EgressPolicy",
    "EgressRefused",
    "Entry",
    "Feedback",
    "FeedbackIndex",
    "Finding",
    "History",
    "HourRecord",
    "Message",
    "ParsedRecords",
    "Plan",
    "Projection",
    "Rejected",
    "RetryPolicy",
    "Sighting",
    "SmtpSender",
    "WebhookSender",
    "build_baseline",
    "checked_opener",
    "cycle_projection",
    "daily_list",
    "deliver_due",
    "detect",
    "enqueue",
    "history_from_records",
    "is_randomized",
    "merge_rotations",
    "offline_daily_list",
    "parse_lines",
    "plan_offer",
    "policy_for",
    "project",
    "rank",
    "run_care_once",
    "sign",
    "top_device",
    "verify",
    "warning_text",
]
