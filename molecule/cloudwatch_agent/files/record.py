# Run on an instance by record.yml: python3 -c "<this file>" RECORDS_DIR CASE, the role's message
# on stdin. Writes RECORDS_DIR/CASE.json with what the run left: the agent package, its folder and
# process, the cached downloads, the written and the applied config.
import hashlib
import json
import os
import subprocess
import sys


def output(*argv):
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def sha256(path):
    if not os.path.isfile(path):
        return ""
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


records, case = sys.argv[1:3]
agent = "/opt/aws/amazon-cloudwatch-agent"
cache = "/var/cache/spotkit/cloudwatch-agent"
record = {
    "message": sys.stdin.read(),
    "package": output("dpkg-query", "--show", "--showformat", "${db:Status-Status} ${Version}", "amazon-cloudwatch-agent"),
    "main_pid": output("systemctl", "show", "--property", "MainPID", "--value", "amazon-cloudwatch-agent.service"),
    "agent_dir": os.path.isdir(agent),
    "config_sha256": sha256("/etc/spotkit/amazon-cloudwatch-agent.json"),
    "applied_sha256": sha256(agent + "/etc/amazon-cloudwatch-agent.d/file_amazon-cloudwatch-agent.json"),
    "cache": sorted(os.listdir(cache)) if os.path.isdir(cache) else [],
}
os.makedirs(records, exist_ok=True)
with open(os.path.join(records, case + ".json"), "w", encoding="utf-8") as handle:
    json.dump(record, handle, indent=2, sort_keys=True)
