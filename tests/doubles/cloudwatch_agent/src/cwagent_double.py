# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)
"""TEST DOUBLE of the Amazon CloudWatch agent's programs, for the spotkit.ec2 tests.

build.sh installs this one file as bin/config-downloader, bin/config-translator and
bin/amazon-cloudwatch-agent; the name it runs under picks the program. They take the real
programs' options and move the same files, but translate nothing and ship nothing:

- config-downloader: copies a file:<path> config into the .d folder as file_<name>.tmp.
- config-translator: checks the JSON configs against the schema the package installs
  ("E! Invalid Json input schema." and exit 1 when one fails), needs a region (agent.region,
  else instance metadata: "Region info is missing" off EC2), writes a stand-in .toml.
- amazon-cloudwatch-agent: logs one line and waits for its stop signal.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import urllib.request

HOME = os.environ.get("CWAGENT_DOUBLE_HOME", "/opt/aws/amazon-cloudwatch-agent")
IMDS = os.environ.get("CWAGENT_DOUBLE_IMDS_URL", "http://169.254.169.254")
TMP_SUFFIX = ".tmp"


def _log(message):
    print(message, flush=True)


def escape_file_name(name):
    """The real downloader's escaping of a config's file name."""
    for char in "/ :":
        name = name.replace(char, "_")
    return name


def _config_tool_parser(prog):
    """The options config-downloader and config-translator share."""
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--mode", default="ec2")
    parser.add_argument("--config", default="")
    parser.add_argument("--multi-config", default="default", choices=("default", "append", "remove"))
    return parser


def downloader(argv):
    parser = _config_tool_parser("config-downloader")
    parser.add_argument("--output-dir", required=True)
    parser.add_argument("--download-source", required=True)
    args = parser.parse_args(argv)

    kind, _sep, location = args.download_source.partition(":")
    if kind != "file" or not location:
        _log("E! TEST DOUBLE: only file:<path> config sources are supported; got %s" % args.download_source)
        return 1
    # Leftovers of a config that an earlier run refused.
    for entry in os.listdir(args.output_dir):
        if entry.endswith(TMP_SUFFIX):
            os.remove(os.path.join(args.output_dir, entry))
    target = os.path.join(args.output_dir, "file_" + escape_file_name(os.path.basename(location)))
    try:
        if args.multi_config == "remove":
            os.remove(target)
            _log("Successfully removed the config file %s" % target)
            return 0
        with open(location, "rb") as source:
            content = source.read()
        with open(target + TMP_SUFFIX, "wb") as copy:
            copy.write(content)
    except OSError as exc:
        _log("E! Fail to fetch/remove json config: %s" % exc)
        return 1
    _log("Successfully fetched the config and saved in %s%s" % (target, TMP_SUFFIX))
    return 0


def _input_files(input_dir, multi_config):
    """default: only the new (.tmp) configs; remove: only the existing ones; append: both."""
    names = sorted(os.listdir(input_dir)) if os.path.isdir(input_dir) else []
    if multi_config == "default":
        names = [name for name in names if name.endswith(TMP_SUFFIX)]
    elif multi_config == "remove":
        names = [name for name in names if not name.endswith(TMP_SUFFIX)]
    return [os.path.join(input_dir, name) for name in names]


def _schema_errors(config, schema):
    # Only the translator needs it.
    import jsonschema  # pylint: disable=import-outside-toplevel

    validator = jsonschema.validators.validator_for(schema)(schema)
    return ["/".join(str(part) for part in error.absolute_path) + ": " + error.message
            for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))]


def _metadata_region():
    """Region from instance metadata (IMDSv2), or None off EC2."""
    try:
        token_request = urllib.request.Request(
            IMDS + "/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
        with urllib.request.urlopen(token_request, timeout=1) as response:
            token = response.read().decode()
        region_request = urllib.request.Request(
            IMDS + "/latest/meta-data/placement/region", headers={"X-aws-ec2-metadata-token": token})
        with urllib.request.urlopen(region_request, timeout=1) as response:
            return response.read().decode().strip() or None
    except (OSError, ValueError):
        return None


def _stand_in_toml(configs, region):
    lines = ["# TEST DOUBLE of the CloudWatch agent's translated configuration: it ships nothing.",
             "region = %s" % json.dumps(region)]
    for config in configs:
        collected = config.get("logs", {}).get("logs_collected", {})
        for entry in collected.get("files", {}).get("collect_list", []):
            lines.append("file %s -> %s" % (json.dumps(entry["file_path"]), json.dumps(entry.get("log_group_name", ""))))
        for entry in collected.get("journald", {}).get("collect_list", []):
            lines.append("journald -> %s" % json.dumps(entry["log_group_name"]))
    return "\n".join(lines) + "\n"


def translator(argv):
    parser = _config_tool_parser("config-translator")
    parser.add_argument("--input", default="")
    parser.add_argument("--input-dir", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)

    paths = _input_files(args.input_dir, args.multi_config)
    if not paths:
        _log("E! No json config files found in %s" % args.input_dir)
        return 1
    with open(os.path.join(HOME, "doc", "amazon-cloudwatch-agent-schema.json"), encoding="utf-8") as schema_file:
        schema = json.load(schema_file)
    configs = []
    for path in paths:
        try:
            with open(path, encoding="utf-8") as config_file:
                config = json.load(config_file)
        except ValueError as exc:
            _log("E! Failed to parse %s: %s" % (path, exc))
            return 1
        errors = _schema_errors(config, schema)
        if errors:
            for error in errors:
                _log("E! %s: %s" % (os.path.basename(path), error))
            _log("E! Invalid Json input schema.")
            return 1
        configs.append(config)
    _log("I! Valid Json input schema.")

    region = next((c["agent"]["region"] for c in configs if c.get("agent", {}).get("region")), None)
    if region is None and args.mode == "ec2":
        region = _metadata_region()
    if region is None:
        _log("E! Region info is missing for mode: %s" % args.mode)
        return 1
    with open(args.output, "w", encoding="utf-8") as toml:
        toml.write(_stand_in_toml(configs, region))
    _log("Configuration validation first phase succeeded")
    return 0


def agent(argv):
    parser = argparse.ArgumentParser(prog="amazon-cloudwatch-agent")
    parser.add_argument("-config", default="")
    parser.add_argument("-envconfig", default="")
    parser.add_argument("-otelconfig", default="")
    parser.add_argument("-schematest", action="store_true")
    args = parser.parse_args(argv)
    if args.schematest:
        return 0
    with open(os.path.join(HOME, "bin", "CWAGENT_VERSION"), encoding="utf-8") as version_file:
        version = version_file.read().strip()
    line = "I! TEST DOUBLE amazon-cloudwatch-agent %s started with %s; it collects and ships nothing" % (version, args.config)
    with open(os.path.join(HOME, "logs", "amazon-cloudwatch-agent.log"), "a", encoding="utf-8") as log:
        log.write(line + "\n")
    _log(line)
    while True:
        signal.pause()


PROGRAMS = {
    "config-downloader": downloader,
    "config-translator": translator,
    "amazon-cloudwatch-agent": agent,
}


def main(argv=None):
    argv = sys.argv if argv is None else argv
    program = PROGRAMS.get(os.path.basename(argv[0]))
    if program is None:
        _log("TEST DOUBLE: run me as one of %s" % ", ".join(sorted(PROGRAMS)))
        return 2
    return program(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
