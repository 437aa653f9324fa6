"""What the sandbox's AWS emulator adds to moto 5.2.5: the calls that a stack's provisioning and
teardown make and moto lacks, and one fix. Each behaves as AWS does, as far as an emulator that
launches instances at once can:

- Auto Scaling StartInstanceRefresh replaces, at once, every instance of the group that was not
  launched from the group's current launch template version (the version EC2 records in the
  instance's aws:ec2launchtemplate:version tag): it terminates it without decrementing the desired
  capacity, and the group launches its replacement. The refresh is then Successful.
- Auto Scaling DescribeInstanceRefreshes lists a group's refreshes, newest first.
- EC2 DeleteLaunchTemplateVersions deletes versions other than the default one; a deleted version
  is no longer described or launched from.
- moto stores the UserData of CreateLaunchTemplateVersion as a plain string, unlike that of
  CreateLaunchTemplate, and its Auto Scaling then fails (HTTP 500) to launch from any version but
  the first: every version's UserData is stored the way the first version's is.
- SSM holds the public parameters in which Debian publishes its images
  (/aws/service/debian/release/<12|13>/latest/<amd64|arm64>), in the regions where moto publishes
  Amazon Linux's. moto's catalogue has no Debian image: they name the images it has of each
  architecture. moto refuses to store a parameter named /aws/..., as AWS does, so nothing else
  could hold them.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict

from moto.autoscaling.responses import AutoScalingResponse
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.exceptions import InvalidLaunchTemplateVersionNotFound
from moto.ec2.models import EC2Backend
from moto.ec2.models.launch_templates import LaunchTemplate, LaunchTemplateVersion
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.ec2.utils import parse_user_data
from moto.ssm.models import Parameter, ParameterDict
from moto.utilities.utils import load_resource

VERSION_TAG = "aws:ec2launchtemplate:version"
DEBIAN_PARAMETERS = "/aws/service/debian/release/"
# Images in moto's catalogue (Amazon Linux 2022), one per architecture; the same ids in every region.
DEBIAN_IMAGES = {"amd64": "ami-076f415166b04f5fe", "arm64": "ami-0e9271c829888680e"}
DEBIAN_RELEASES = ("12", "13")


def _launched_version(instance):
    return next((tag["value"] for tag in instance.get_tags() if tag["key"] == VERSION_TAG), None)


def start_instance_refresh(self):
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.describe_auto_scaling_groups([name])[0]
    current = str(group.ec2_launch_template.get_version(group.launch_template_version).number)
    outdated = [state.instance.id for state in group.instance_states if _launched_version(state.instance) != current]
    started = utcnow()
    for instance_id in outdated:
        self.autoscaling_backend.terminate_instance(instance_id, should_decrement=False)
    refresh = {
        "InstanceRefreshId": str(uuid.uuid4()),
        "AutoScalingGroupName": name,
        "Status": "Successful",
        "StatusReason": "%d instance(s) replaced" % len(outdated),
        "StartTime": started,
        "EndTime": utcnow(),
        "PercentageComplete": 100,
        "InstancesToUpdate": 0,
        "Preferences": self._get_param("Preferences", {}),
    }
    group.spotkit_instance_refreshes = [refresh] + getattr(group, "spotkit_instance_refreshes", [])
    return ActionResult({"InstanceRefreshId": refresh["InstanceRefreshId"]})


def describe_instance_refreshes(self):
    name = self._get_param("AutoScalingGroupName")
    group = self.autoscaling_backend.describe_auto_scaling_groups([name])[0]
    wanted = self._get_param("InstanceRefreshIds", [])
    refreshes = [r for r in getattr(group, "spotkit_instance_refreshes", []) if not wanted or r["InstanceRefreshId"] in wanted]
    return ActionResult({"InstanceRefreshes": refreshes})


def delete_launch_template_versions(self):
    name = self._get_param("LaunchTemplateName")
    template_id = self._get_param("LaunchTemplateId")
    template = self.ec2_backend.get_launch_template(template_id) if template_id else self.ec2_backend.get_launch_template_by_name(name)
    self.error_on_dryrun()
    deleted, refused = [], []
    for requested in self._get_param("Versions", []):
        entry = {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "VersionNumber": int(requested)}
        if int(requested) == template.default_version_number:
            refused.append(dict(entry, ResponseError={"Code": "launchTemplateVersionIsDefaultVersion",
                                                      "Message": "Cannot delete the default version"}))
        elif any(version.number == int(requested) for version in template.versions) and int(requested) not in _deleted(template):
            _deleted(template).add(int(requested))
            deleted.append(entry)
        else:
            refused.append(dict(entry, ResponseError={"Code": "launchTemplateVersionDoesNotExist",
                                                      "Message": "The version does not exist"}))
    return ActionResult({"SuccessfullyDeletedLaunchTemplateVersions": deleted,
                         "UnsuccessfullyDeletedLaunchTemplateVersions": refused})


def _deleted(template):
    # moto finds versions by their position in a list: a deleted version stays there, marked.
    if not hasattr(template, "spotkit_deleted_versions"):
        template.spotkit_deleted_versions = set()
    return template.spotkit_deleted_versions


def _load_debian_parameters(parameters):
    try:
        load_resource("ssm/resources/ami-amazon-linux-latest/%s.json" % parameters.region_name)
    except FileNotFoundError:
        return
    for release in DEBIAN_RELEASES:
        for architecture, image in DEBIAN_IMAGES.items():
            name = "%s%s/latest/%s" % (DEBIAN_PARAMETERS, release, architecture)
            # defaultdict's own lookup: ParameterDict's would come back here.
            defaultdict.__getitem__(parameters, name).append(Parameter(
                account_id=parameters.account_id, name=name, value=image, parameter_type="String",
                description=None, allowed_pattern=None, keyid=None, last_modified_date=utcnow(),
                version=1, data_type="aws:ec2:image",
            ))


def install():
    """Patch moto's classes; call once, before the server starts."""
    original_check_loading_status = ParameterDict._check_loading_status
    # Requests come on several threads: a second one must not find the parameters half loaded.
    loading = threading.Lock()

    def check_loading_status(self, key):
        original_check_loading_status(self, key)
        if str(key or "").startswith(DEBIAN_PARAMETERS.rstrip("/")):
            with loading:
                if not getattr(self, "spotkit_debian_loaded", False):
                    _load_debian_parameters(self)
                    self.spotkit_debian_loaded = True

    ParameterDict._check_loading_status = check_loading_status

    AutoScalingResponse.start_instance_refresh = start_instance_refresh
    AutoScalingResponse.describe_instance_refreshes = describe_instance_refreshes
    LaunchTemplates.delete_launch_template_versions = delete_launch_template_versions

    original_get_version = LaunchTemplate.get_version

    def get_version(self, num):
        version = original_get_version(self, num)
        if version.number in _deleted(self):
            raise InvalidLaunchTemplateVersionNotFound(template_id=self.id, version=num)
        return version

    LaunchTemplate.get_version = get_version

    original_describe_versions = EC2Backend.describe_launch_template_versions

    def describe_launch_template_versions(self, *args, **kwargs):
        found = original_describe_versions(self, *args, **kwargs)
        return [(template, version) for template, version in found if version.number not in _deleted(template)]

    EC2Backend.describe_launch_template_versions = describe_launch_template_versions

    original_version_init = LaunchTemplateVersion.__init__

    def version_init(self, template, number, data, description):
        if isinstance(data.get("UserData"), str):
            data = dict(data, UserData=parse_user_data(data["UserData"]))
        original_version_init(self, template, number, data, description)

    LaunchTemplateVersion.__init__ = version_init
