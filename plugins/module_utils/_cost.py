# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""The modeled monthly cost of a stack, line by line: what each resource costs running all month.

Private to this collection: spotkit.ec2.stack_cost feeds it the spot prices it reads from AWS and the
stack's facts, and prints what it returns at the end of every provisioning run; docs/aws.md shows the
same figures for the example stacks. Prices are USD, before taxes, for 730 hours.

Where a price is not read from AWS it comes from the tables below, as AWS's public price pages listed
it in PRICES_DATE; every line that uses one says so. Free tiers are counted as if the stack were the
account's only one (they are per account: 10 alarms, 10 custom metrics).
"""

from __future__ import annotations

import datetime
import statistics

HOURS_PER_MONTH = 730
PRICES_DATE = "2025-06"
# AWS keeps 90 days of spot price history: an answer older than that is not AWS's current price.
SPOT_HISTORY_DAYS = 90
# The region whose prices stand in for a region the tables do not list (the line says so).
PRICE_REGION = "us-east-1"

# On-demand Linux prices per hour, the most a spot instance costs: the group never pays more.
ON_DEMAND_HOURLY = {
    "us-east-1": {
        "t4g.nano": 0.0042, "t4g.micro": 0.0084, "t4g.small": 0.0168, "t4g.medium": 0.0336, "t4g.large": 0.0672,
        "t3.nano": 0.0052, "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832,
        "t3a.nano": 0.0047, "t3a.micro": 0.0094, "t3a.small": 0.0188, "t3a.medium": 0.0376, "t3a.large": 0.0752,
    },
    "eu-west-1": {
        "t4g.nano": 0.0046, "t4g.micro": 0.0092, "t4g.small": 0.0184, "t4g.medium": 0.0368, "t4g.large": 0.0736,
        "t3.nano": 0.0057, "t3.micro": 0.0114, "t3.small": 0.0228, "t3.medium": 0.0456, "t3.large": 0.0912,
        "t3a.nano": 0.0051, "t3a.micro": 0.0102, "t3a.small": 0.0204, "t3a.medium": 0.0408, "t3a.large": 0.0816,
    },
}
# A typical spot price of these types, as a share of the on-demand price (t4g.nano in eu-west-1: $0.0015-0.0020
# an hour against $0.0046). Spot prices move hour by hour and per availability zone.
SPOT_SHARE = 0.37
PUBLIC_IPV4_HOURLY = 0.005
GP3_GIB_MONTH = {"us-east-1": 0.08, "eu-west-1": 0.088}
SNAPSHOT_GIB_MONTH = {"us-east-1": 0.05, "eu-west-1": 0.05}
HOSTED_ZONE_MONTH = 0.50
# A Route 53 health check of an AWS endpoint (the Elastic IP is one), and each optional feature (HTTPS, string match).
HEALTH_CHECK_MONTH = 0.50
HEALTH_CHECK_FEATURE_MONTH = 1.00
ALARM_MONTH = 0.10
FREE_ALARMS = 10
METRIC_MONTH = 0.30
FREE_METRICS = 10
# The state bucket (S3 Standard): storage per GB-month and PUT requests per 1000. The model assumes 10 MB of state per
# service (certificates, a small database) and the instance's save every 5 minutes whenever the state changed, at
# most one PUT per service and period; restores at boot and reads are under a cent.
S3_STANDARD_GB_MONTH = {"us-east-1": 0.023, "eu-west-1": 0.023}
S3_PUT_PER_1000 = {"us-east-1": 0.005, "eu-west-1": 0.005}
STATE_MB_PER_SERVICE = 10
STATE_SAVE_MINUTES = 5


def _regional(table, region):
    """(price, note) from a per-region table; another region's price, said so, where it has none."""
    if region in table:
        return table[region], ""
    return table[PRICE_REGION], " (%s's price: none listed for %s)" % (PRICE_REGION, region)


def _timestamp(value):
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def current_spot_prices(history, now):
    """{instance type: (median of the zones' current prices, number of zones)} from a spot price history
    ([{instance_type, availability_zone, price, timestamp}]): each zone's newest price of the last 90 days."""
    newest = {}
    for item in history:
        when = _timestamp(item["timestamp"])
        if now - when > datetime.timedelta(days=SPOT_HISTORY_DAYS):
            continue
        key = (item["instance_type"], item["availability_zone"])
        if key not in newest or when > newest[key][0]:
            newest[key] = (when, float(item["price"]))
    by_type = {}
    for (instance_type, _zone), (_when, price) in newest.items():
        by_type.setdefault(instance_type, []).append(price)
    return {instance_type: (statistics.median(prices), len(prices)) for instance_type, prices in by_type.items()}


def _money(value):
    return "$%.2f" % value


def _compute(region, instance_types, live, today, failure):
    """The spot line: the first of the instance types, which the stack is sized for."""
    chosen = instance_types[0]
    on_demand = ON_DEMAND_HOURLY.get(region, {}).get(chosen)
    ceiling = "; on-demand ceiling %s" % _money(on_demand * HOURS_PER_MONTH) if on_demand else ""
    others = ["%s %s" % (other, _money(live[other][0] * HOURS_PER_MONTH)) for other in instance_types[1:] if other in live]
    also = "; as %s" % ", ".join(others) if others else ""
    if chosen in live:
        hourly, zones = live[chosen]
        return hourly * HOURS_PER_MONTH, ("%s at $%.5f/h, the median of %d zones' current spot prices "
                                          "(DescribeSpotPriceHistory, %s)%s%s" % (chosen, hourly, zones, today, ceiling, also))
    why = failure or "DescribeSpotPriceHistory gave no %s price of the last %d days" % (chosen, SPOT_HISTORY_DAYS)
    if on_demand is None:
        return None, "%s: no price known in %s (%s; the table of %s lists none)" % (chosen, region, why, PRICES_DATE)
    hourly = on_demand * SPOT_SHARE
    return hourly * HOURS_PER_MONTH, ("%s at $%.5f/h, a typical spot price (%d %% of on-demand, table of %s; %s)%s"
                                      % (chosen, hourly, round(SPOT_SHARE * 100), PRICES_DATE, why, ceiling))


def _state_bucket(region, services, noncurrent_days):
    """The state bucket's line: (monthly, detail)."""
    storage, note = _regional(S3_STANDARD_GB_MONTH, region)
    put, _note = _regional(S3_PUT_PER_1000, region)
    saves = HOURS_PER_MONTH * 60 // STATE_SAVE_MINUTES
    gib = services * STATE_MB_PER_SERVICE / 1024
    # Every save a change: each replaced version is kept noncurrent_days.
    versions = 24 * 60 // STATE_SAVE_MINUTES * noncurrent_days
    return (gib * storage + services * saves / 1000 * put,
            "%d service%s' state, assumed %d MB each, in S3 Standard at $%.3f per GB, and at most %d saves a service (one "
            "every %d minutes while it changes) at $%.3f per 1000; if every save changed it, the %d old versions kept %d days "
            "would add %s%s" % (services, "s" * (services > 1), STATE_MB_PER_SERVICE, storage, saves, STATE_SAVE_MINUTES, put,
                                versions, noncurrent_days, _money(services * versions * STATE_MB_PER_SERVICE / 1024 * storage), note))


def monthly_cost(region, instance_types, spot_history, now, volume_gib, snapshot_gib, zone, zone_stacks,
                 health_check_type, alarms, custom_metrics, spot_failure="", state_services=0, noncurrent_days=30):
    """The stack's lines ({item, monthly, detail}; monthly None where no price is known) and their total.

    state_services: how many services keep state in the stack's bucket (none: no bucket, no line);
    noncurrent_days: how long the bucket keeps an old version.

    spot_history: what DescribeSpotPriceHistory answered (may be empty); spot_failure: why it did not answer.
    zone_stacks: how many stacks share the hosted zone `zone` (its cost is split among them).
    health_check_type: Route 53's type of the stack's health check, empty for none.
    """
    live = current_spot_prices(spot_history, now)
    lines = []

    def line(item, monthly, detail):
        lines.append({"item": item, "monthly": None if monthly is None else round(monthly, 2), "detail": detail})

    line("spot instance", *_compute(region, instance_types, live, now.date().isoformat(), spot_failure))
    line("public IPv4", PUBLIC_IPV4_HOURLY * HOURS_PER_MONTH, "the Elastic IP, $%.3f/h in use or not" % PUBLIC_IPV4_HOURLY)
    gp3, note = _regional(GP3_GIB_MONTH, region)
    line("root volume", volume_gib * gp3, "%d GiB gp3 at $%.3f per GiB%s" % (volume_gib, gp3, note))
    snapshot, note = _regional(SNAPSHOT_GIB_MONTH, region)
    line("image snapshots", snapshot_gib * snapshot,
         "%d GiB of snapshots of the stack's images at $%.3f per GiB, at most (only used blocks are stored)%s"
         % (snapshot_gib, snapshot, note) if snapshot_gib else "no image of the stack's own")
    beyond = max(alarms - FREE_ALARMS, 0)
    line("alarms", beyond * ALARM_MONTH, "%d alarms, %s the account's free %d (%s each beyond; %s if the free ones are taken)"
         % (alarms, "within" if not beyond else "%d beyond" % beyond, FREE_ALARMS, _money(ALARM_MONTH), _money(alarms * ALARM_MONTH)))
    if health_check_type:
        features = health_check_type.startswith("HTTPS") + health_check_type.endswith("_STR_MATCH")
        extra = " (%d optional feature%s at $1.00)" % (features, "s" * (features > 1)) if features else ""
        line("health check", HEALTH_CHECK_MONTH + features * HEALTH_CHECK_FEATURE_MONTH,
             "Route 53, %s, of an AWS endpoint%s" % (health_check_type, extra))
    else:
        line("health check", 0, "none: no service publishes a TCP port")
    beyond = max(custom_metrics - FREE_METRICS, 0)
    within = "within" if not beyond else "%d beyond" % beyond
    line("custom metrics", beyond * METRIC_MONTH, "%d metrics (the agent's by stack, and failed pulls), %s the "
         "account's free %d at %s each" % (custom_metrics, within, FREE_METRICS, _money(METRIC_MONTH)))
    if zone:
        line("hosted zone share", HOSTED_ZONE_MONTH / max(zone_stacks, 1),
             "%s, %s a month shared by %d stack%s of this run" % (zone, _money(HOSTED_ZONE_MONTH), zone_stacks, "s" * (zone_stacks > 1)))
    else:
        line("hosted zone share", 0, "no DNS name")
    if state_services:
        line("state bucket", *_state_bucket(region, state_services, noncurrent_days))
    known = [item["monthly"] for item in lines if item["monthly"] is not None]
    return {"lines": lines, "total": round(sum(known), 2), "complete": len(known) == len(lines)}


def cost_text(stack, region, cost):
    """The cost as the run prints it: a header, one line per item, the total."""
    width = max(len(item["item"]) for item in cost["lines"])
    text = ["%s in %s, modeled cost per month (USD, %d h, free tiers as for the account's only stack):"
            % (stack, region, HOURS_PER_MONTH)]
    for item in cost["lines"]:
        amount = "?" if item["monthly"] is None else _money(item["monthly"])
        text.append("  %s %7s  %s" % (item["item"].ljust(width), amount, item["detail"]))
    text.append("  %s %7s%s" % ("total".ljust(width), _money(cost["total"]), "" if cost["complete"] else "  and what has no price"))
    return text
