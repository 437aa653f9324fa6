"""A test double of the stack image's builder instance, for provisioning against the emulator.

The emulator launches instances but runs nothing on them: this double plays the builder's part. A thread
watches the account for builders (tags spotkit:role=builder) that have not said how their bake ended,
tags each spotkit:bake=done (or failed, with spotkit:bake-error, when told to fail) and stops it, as a
builder does when its bake ends. It keeps the user-data of each builder it served, to read what it was told.
"""

from __future__ import annotations

import base64
import contextlib
import threading

BUILDER_FILTERS = [{"Name": "tag:spotkit:role", "Values": ["builder"]}, {"Name": "instance-state-name", "Values": ["pending", "running"]}]


class BuilderDouble:
    """Serve the builders of an EC2 client's account until stopped; `error` set makes their bakes fail."""

    def __init__(self, ec2, interval=0.2):
        self.ec2 = ec2
        self.interval = interval
        self.error = ""
        self.served = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="builder-double", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self):
        while not self._stop.wait(self.interval):
            with contextlib.suppress(Exception):
                self.serve_once()

    def serve_once(self):
        """Finish the bake of every builder that has not said how it ended; returns their ids."""
        served = []
        for reservation in self.ec2.describe_instances(Filters=BUILDER_FILTERS)["Reservations"]:
            for instance in reservation["Instances"]:
                tags = {tag["Key"]: tag["Value"] for tag in instance.get("Tags", [])}
                if "spotkit:bake" in tags:
                    continue
                instance_id = instance["InstanceId"]
                user_data = self.ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
                self.served[instance_id] = base64.b64decode(user_data.get("UserData", {}).get("Value", "")).decode()
                outcome = [{"Key": "spotkit:bake", "Value": "failed" if self.error else "done"}]
                if self.error:
                    outcome.append({"Key": "spotkit:bake-error", "Value": self.error})
                self.ec2.create_tags(Resources=[instance_id], Tags=outcome)
                self.ec2.stop_instances(InstanceIds=[instance_id])
                served.append(instance_id)
        return served


@contextlib.contextmanager
def builder_double(ec2):
    """A running BuilderDouble, stopped on exit."""
    double = BuilderDouble(ec2).start()
    try:
        yield double
    finally:
        double.stop()
