"""Unit tests for the cost model of a stack (plugins/module_utils/_cost.py)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.spotkit.ec2.plugins.module_utils import _cost as cost

NOW = datetime.datetime(2026, 11, 30, 12, 0, tzinfo=datetime.timezone.utc)


def price(instance_type, zone, value, days_ago=1):
    return {"instance_type": instance_type, "availability_zone": zone, "price": value,
            "timestamp": (NOW - datetime.timedelta(days=days_ago)).isoformat()}


def model(history=(), **changes):
    arguments = dict(region="eu-west-1", instance_types=["t4g.nano", "t4g.micro"], spot_history=list(history), now=NOW,
                     volume_gib=8, snapshot_gib=0, zone="example.com", zone_stacks=1, health_check_type="HTTP", alarms=6,
                     custom_metrics=17)
    arguments.update(changes)
    return cost.monthly_cost(**arguments)


def lines(result):
    return {item["item"]: item for item in result["lines"]}


def test_current_prices_are_each_zones_newest_of_the_last_90_days_and_their_median():
    history = [
        price("t4g.nano", "eu-west-1a", "0.0016", days_ago=3), price("t4g.nano", "eu-west-1a", "0.0014", days_ago=1),
        price("t4g.nano", "eu-west-1b", "0.0018"), price("t4g.nano", "eu-west-1c", "0.0020"),
        # AWS keeps 90 days: anything older is no current price (moto answers with 2006's).
        price("t4g.micro", "eu-west-1a", "0.00001", days_ago=7000),
    ]
    assert cost.current_spot_prices(history, NOW) == {"t4g.nano": (0.0018, 3)}


def test_a_live_spot_price_prices_the_first_type_and_names_its_source():
    result = model([price("t4g.nano", "eu-west-1a", "0.0015"), price("t4g.micro", "eu-west-1a", "0.0030")])
    spot = lines(result)["spot instance"]
    assert spot["monthly"] == round(0.0015 * 730, 2)
    assert "DescribeSpotPriceHistory, 2026-11-30" in spot["detail"] and "t4g.micro $2.19" in spot["detail"]
    assert "on-demand ceiling $3.36" in spot["detail"]


def test_without_a_live_price_the_dated_table_prices_it_and_says_why():
    spot = lines(model(spot_failure="DescribeSpotPriceHistory failed: denied"))["spot instance"]
    assert spot["monthly"] == round(0.0046 * cost.SPOT_SHARE * 730, 2)
    assert "table of %s" % cost.PRICES_DATE in spot["detail"] and "denied" in spot["detail"]
    unknown = model(instance_types=["m7g.medium"])
    assert lines(unknown)["spot instance"]["monthly"] is None and unknown["complete"] is False


def test_the_example_blog_stack_line_by_line():
    result = model()
    assert {item: line["monthly"] for item, line in lines(result).items()} == {
        "spot instance": 1.24, "public IPv4": 3.65, "root volume": 0.7, "image snapshots": 0.0, "alarms": 0.0,
        "health check": 0.5, "custom metrics": 2.1, "hosted zone share": 0.5,
    }
    assert result["total"] == 8.69 and result["complete"] is True


def test_free_tiers_features_shares_and_regions():
    result = lines(model(alarms=12, custom_metrics=8, health_check_type="HTTPS_STR_MATCH", zone_stacks=2, snapshot_gib=8,
                         region="ap-south-2"))
    assert result["alarms"]["monthly"] == 0.2
    assert result["custom metrics"]["monthly"] == 0.0
    assert result["health check"]["monthly"] == 2.5 and "2 optional features" in result["health check"]["detail"]
    assert result["hosted zone share"]["monthly"] == 0.25
    assert result["image snapshots"]["monthly"] == 0.4
    assert "us-east-1's price" in result["root volume"]["detail"]
    assert lines(model(zone="", health_check_type=""))["hosted zone share"]["monthly"] == 0
    assert lines(model(health_check_type=""))["health check"]["detail"].startswith("none")


@pytest.mark.parametrize("complete", [True, False])
def test_the_text_has_a_header_a_line_per_item_and_the_total(complete):
    result = model() if complete else model(instance_types=["x9.huge"])
    text = cost.cost_text("blog", "eu-west-1", result)
    assert text[0].startswith("blog in eu-west-1, modeled cost per month (USD, 730 h")
    assert len(text) == len(result["lines"]) + 2
    assert text[-1].split()[:2] == ["total", "$%.2f" % result["total"]]
    assert text[-1].endswith("and what has no price") is not complete


def test_the_state_bucket_costs_its_storage_and_its_saves_and_says_its_assumptions():
    assert "state bucket" not in lines(model())
    bucket = lines(model(state_services=2, noncurrent_days=30))["state bucket"]
    # 2 x 10 MB at $0.023 per GB, and 2 x 8760 saves at $0.005 per 1000.
    assert bucket["monthly"] == round(2 * 10 / 1024 * 0.023 + 2 * 8760 / 1000 * 0.005, 2) == 0.09
    assert "assumed 10 MB each" in bucket["detail"] and "one every 5 minutes while it changes" in bucket["detail"]
    # The worst case: every save a new version, 288 a day kept 30 days, 10 MB each.
    assert "the 8640 old versions kept 30 days would add $3.88" in bucket["detail"]
    assert "(us-east-1's price" in lines(model(region="ap-south-1", state_services=1))["state bucket"]["detail"]
