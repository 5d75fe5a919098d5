"""Numbers of proactive care, in one place, each with the reason it has the value it has."""

from datetime import date
from typing import Final

GB: Final = 10**9

#: Days of history behind a baseline: four of each weekday, so a median ignores one odd week.
WINDOW_DAYS: Final = 28
#: A day type needs this many baseline days before it is trusted; otherwise the other type is used.
MIN_BASELINE_DAYS: Final = 3
#: Robust band width: median + K * 1.4826 * MAD is about 3 standard deviations of normal traffic.
BAND_K: Final = 3.0
MAD_TO_SIGMA: Final = 1.4826
#: A home day whose activity is below this share of its median day is "away" (a holiday) and is
#: left out of every baseline, so returning from two weeks away is not a jump from zero.
AWAY_SHARE: Final = 0.2

#: Smallest hourly noise floors, so a device that is always idle (MAD 0) needs a real change.
UPLOAD_FLOOR_BYTES_H: Final = 5 * 10**6
#: Minimum excess over the band before a finding is made, per kind.
UPLOAD_MIN_EXCESS_BYTES: Final = 1 * GB
SMTP_MIN_EXCESS: Final = 100
#: An upload seen (at half today's size or more) on this many older days of the window is a habit
#: (a weekly backup), not an upload rise.
RECURRING_MIN_DAYS: Final = 2
#: A silence this unlikely under the device's own activity rate is reported (and only after 2 days).
SILENT_MAX_PROBABILITY: Final = 0.01
SILENT_MIN_DAYS: Final = 2
#: Drift: the last week against the first half of the window, both as medians of daily totals.
DRIFT_RECENT_DAYS: Final = 7
DRIFT_OLD_DAYS: Final = 14
DRIFT_MIN_RATIO: Final = 3.0

#: Ranking weights: what a CSR should call about first (a spambot gets the line blocked).
KIND_WEIGHTS: Final = {"smtp_burst": 3.0, "upload_rise": 2.0, "upload_drift": 1.5, "silent": 1.5}
#: Entries below this score are not listed.
LIST_MIN_SCORE: Final = 1.0
#: A CSR's "false alarm" down-weights the same (home, device, kind) for this long, by this factor.
FALSE_ALARM_DAYS: Final = 30
FALSE_ALARM_FACTOR: Final = 0.25
CONFIRMED_FACTOR: Final = 1.25

#: Cap warnings: per cent of the cap used, each sent once per cycle.
CAP_THRESHOLDS_PERCENT: Final = (50, 75, 90, 100)
#: The projection warning needs this share of the cap used, so early-cycle noise cannot trigger it.
PROJECTION_MIN_USED: Final = 0.3
#: Days of the home's own history behind the daily rate of the projection.
PROJECTION_HISTORY_DAYS: Final = 14

#: Cloud metadata services, refused to webhooks unless an allowlist entry names the address alone
#: (cloud/care/egress.py): AWS, Azure, GCP, OpenStack, Oracle and DigitalOcean (169.254.169.254),
#: AWS ECS task credentials (169.254.170.2), EKS pod identity (169.254.170.23, fd00:ec2::23),
#: Alibaba Cloud (100.100.100.200), Oracle Cloud (192.0.0.192), AWS IMDS over IPv6 (fd00:ec2::254).
METADATA_ADDRESSES: Final = (
    "169.254.169.254",
    "169.254.170.2",
    "169.254.170.23",
    "100.100.100.200",
    "192.0.0.192",
    "fd00:ec2::254",
    "fd00:ec2::23",
)
#: The days the care API's ``day`` parameters accept: wider than any stored list, narrow enough
#: for every database's date type.
EARLIEST_DAY: Final = date(2000, 1, 1)
LATEST_DAY: Final = date(2100, 12, 31)
