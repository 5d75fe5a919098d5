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

#: Scanning: remote hosts (summed hour by hour) in a day at least this many, this many times the
#: device's normal, with little data per connection (a worm's probes; a download moves megabytes).
SCAN_MIN_HOSTS: Final = 1000
SCAN_MIN_RATIO: Final = 10.0
SCAN_NORMAL_FLOOR: Final = 20.0
SCAN_MAX_BYTES_PER_FLOW: Final = 20_000
#: DDoS: an hour with at least this many flows, this many per remote host (a few targets), at
#: least ten times the device's usual busiest hour, and this much sent in those hours.
DDOS_MIN_FLOWS_H: Final = 1000
DDOS_MIN_FLOWS_PER_HOST: Final = 20.0
DDOS_MIN_RATIO: Final = 10.0
DDOS_MIN_TX_BYTES: Final = 100 * 10**6
#: When a device is active: an hour of the day is "unusual" when the device was active in it on at
#: most this share of its baseline days (a PC left on some nights keeps those hours unusual).
#: Needs this many baseline days on which the device was active at all.
UNUSUAL_HOUR_MAX_SHARE: Final = 0.3
#: ... and not a habit of the other day type (active on at least this share of those days).
OTHER_TYPE_HABIT_SHARE: Final = 0.5
ACTIVITY_MIN_DAYS: Final = 7
#: Always-on (a miner): active in at least this many hours today, at least ALWAYS_ON_MIN_NEW of
#: them new, for a device whose median day has at most ALWAYS_ON_MAX_NORMAL active hours; steady
#: traffic to a few hosts, and not a big download (the day's bytes within 3x of normal or 1 GB).
ALWAYS_ON_MIN_HOURS: Final = 20
ALWAYS_ON_MIN_NEW: Final = 6
ALWAYS_ON_MAX_NORMAL: Final = 16
FEW_HOSTS: Final = 4.0
ALWAYS_ON_MAX_BYTES_RATIO: Final = 3.0
#: ... unless the new hours themselves are a miner's: each to a few hosts, at most this much sent
#: and about the same number of flows (BEACON_MAX_CV). A download's ACKs alone are about 1% of what
#: it fetches, tens of MB an hour for a game; a miner's shares are a few MB, hour after hour.
ALWAYS_ON_MAX_TX_H: Final = 10 * 10**6
#: Beaconing: at least this many unusual hours, each with few flows to few hosts and little
#: sent, of about the same size (coefficient of variation of the flows at most BEACON_MAX_CV).
BEACON_MIN_NEW: Final = 3
BEACON_MAX_FLOWS_H: Final = 30.0
BEACON_MAX_TX_H: Final = 2 * 10**6
BEACON_MAX_CV: Final = 0.5
#: ... or, over the last BEACON_RECENT_DAYS days (today among them), at least BEACON_MIN_RECENT
#: such hours on at least two of the days: a beacon that shares some of its hours with the
#: device's own use (a PC left on some nights, a download today) still repeats, small and the
#: same size, night after night, which a person's use does not.
BEACON_RECENT_DAYS: Final = 3
BEACON_MIN_RECENT: Final = 6
#: A device silent in at least this many hours today is not "always on": when its new hours are
#: beacon-sized and regular, they are called beaconing (a miner fills the clock).
ALWAYS_ON_MAX_SILENT_H: Final = 1

#: Ranking weights: what a CSR should call about first (a spambot gets the line blocked).
KIND_WEIGHTS: Final = {
    "smtp_burst": 3.0,
    "scanning": 3.0,
    "ddos": 3.0,
    "upload_rise": 2.0,
    "always_on": 2.5,
    "beaconing": 2.0,
    "upload_drift": 1.5,
    "silent": 1.5,
}
#: What the CSR does next, per finding kind (the reason says what happened).
NEXT_STEPS: Final = {
    "smtp_burst": "call the subscriber: the device is probably sending spam; advise a malware scan "
    "and, if it goes on, block outbound port 25 for the line",
    "scanning": "call the subscriber: the device is probably infected (a worm or botnet scanning "
    "the internet); advise disconnecting it and a malware scan or factory reset",
    "ddos": "call the subscriber: the device is probably part of a botnet attack; advise a "
    "factory reset, a firmware update and a new password",
    "upload_rise": "ask the subscriber whether they expected this upload (a new backup or camera "
    "service); if not, advise checking the device for malware",
    "upload_drift": "ask the subscriber whether a new backup or camera service explains it; if "
    "not, advise checking the device",
    "always_on": "ask the subscriber whether the device is meant to run day and night; if not, it "
    "may be mining or infected: advise a malware scan",
    "beaconing": "ask the subscriber about the device: regular contact in its quiet hours is how "
    "malware calls home; advise a malware scan",
    "silent": "ask the subscriber whether the device was unplugged or replaced; a camera that "
    "stopped uploading leaves the home unwatched",
}
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

#: Connectivity degraded (degraded.py). The recent stretch judged on each pass: long enough to
#: hold an episode's start and its clearing, short enough to read on every pass.
DEGRADED_SCAN_HOURS: Final = 3
#: The home's normal: the connectivity intervals of the days before the scan, at most this many
#: rows (two weeks at one interval every five minutes; a one-a-minute agent keeps its newest 4 days).
DEGRADED_BASELINE_DAYS: Final = 14
DEGRADED_BASELINE_MAX_ROWS: Final = 5000
#: Fewer judged intervals than this in the baseline: the home is new, absolute thresholds apply.
DEGRADED_MIN_BASELINE_INTERVALS: Final = 48
#: Hysteresis: an episode opens after this many bad intervals in a row (one bad interval is
#: noise) and closes after this many good ones in a row (a flapping line stays one episode).
DEGRADED_OPEN_INTERVALS: Final = 3
DEGRADED_CLOSE_INTERVALS: Final = 3
#: Loss: bad at >= max(LOSS_MIN, median + max(3 sigma, LOSS_FLOOR)) per cent. 5% loss is where
#: calls and games visibly suffer; the floor keeps a quiet home's one lost echo from counting.
DEGRADED_LOSS_MIN_PCT: Final = 5.0
DEGRADED_LOSS_FLOOR_PCT: Final = 3.0
#: Latency (the headline p50): bad at >= max(RATIO x median, median + max(3 sigma, FLOOR)); a
#: new home at >= ABS ms (a wired line's p50 is tens of ms; 150 ms is where ITU-T G.114 says
#: conversation starts to suffer).
DEGRADED_LATENCY_RATIO: Final = 2.0
DEGRADED_LATENCY_FLOOR_MS: Final = 30.0
DEGRADED_LATENCY_ABS_MS: Final = 150.0
#: DNS: a failed lookup is bad unless the home's lookups fail this often normally (then a
#: failing resolver is its normal, and loss or latency must speak).
DEGRADED_DNS_NORMAL_FAIL_SHARE: Final = 0.2
