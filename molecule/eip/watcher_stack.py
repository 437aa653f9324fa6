"""What the eip and interruption_watcher roles act on, in the emulator, for one platform: the stack's Auto Scaling
group with its launch hook, holding the platform's instance (which waits on the hook until the eip role completes it),
the stack's topic, and a queue subscribed to it (how a check reads what the
topic said). Prints {"group", "topic", "queue_url"} as JSON.

    python watcher_stack.py --endpoint URL --region R --stack S --instance-id I
"""

from __future__ import annotations

import argparse
import json
import sys

import boto3

CREDENTIALS = {"aws_access_key_id": "molecule", "aws_secret_access_key": "molecule"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for option in ("--endpoint", "--region", "--stack", "--instance-id"):
        parser.add_argument(option, required=True)
    args = parser.parse_args(argv)

    def client(service):
        return boto3.client(service, endpoint_url=args.endpoint, region_name=args.region, **CREDENTIALS)

    # The names the collection gives them (plugins/module_utils/_stack.py), as the role's filter does.
    group, topic = "spotkit-" + args.stack, "spotkit-%s-%s" % (args.stack, args.region)
    template = client("ec2").create_launch_template(LaunchTemplateName=group, LaunchTemplateData={
        "ImageId": "ami-12345678", "InstanceType": "t4g.nano"})["LaunchTemplate"]["LaunchTemplateId"]
    autoscaling = client("autoscaling")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=group, MinSize=0, MaxSize=2, DesiredCapacity=0,
                                          LaunchTemplate={"LaunchTemplateId": template}, AvailabilityZones=[args.region + "a"])
    # As provisioning makes it (plugins/module_utils/_handover.py): an attached instance waits on it as a launched one.
    autoscaling.put_lifecycle_hook(AutoScalingGroupName=group, LifecycleHookName="spotkit-launch", HeartbeatTimeout=1800,
                                   DefaultResult="ABANDON", LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING")
    # A group of one, of this instance: attaching raises the desired capacity to 1.
    autoscaling.attach_instances(AutoScalingGroupName=group, InstanceIds=[args.instance_id])
    sns, sqs = client("sns"), client("sqs")
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=topic + "-messages")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    print(json.dumps({"group": group, "topic": topic, "queue_url": queue_url}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
