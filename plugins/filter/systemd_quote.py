# -*- coding: utf-8 -*-
# Copyright: spotkit.ec2 contributors
# MIT License (see LICENSE)

from __future__ import annotations

DOCUMENTATION = r"""
name: systemd_quote
short_description: Quote arguments for a systemd unit file
version_added: 0.1.0
author: spotkit.ec2 maintainers (@spotkit)
description:
  - Turns a list of arguments into one line that systemd splits back into exactly those arguments.
  - An argument made only of letters, digits and C(_@+=:,./-) is written as it is; any other is put in
    double quotes, with C(\), C(") and control characters escaped and C(%) doubled so that no specifier is expanded.
  - With O(context=exec) (command lines such as C(ExecStart=)), C($) is doubled too, so that systemd does
    not expand environment variables; other settings, such as C(Environment=), take C($) as it is.
  - Bad input raises an error that names the bad value.
positional: _input
options:
  _input:
    description: The arguments, or a single argument.
    type: raw
    required: true
  context:
    description: Where the line goes; C(exec) for command lines, C(setting) for any other setting.
    type: str
    choices: [exec, setting]
    default: exec
"""

EXAMPLES = r"""
- name: Write a unit whose command takes arguments with spaces and dollars
  ansible.builtin.copy:
    content: |
      [Service]
      ExecStart={{ ['/usr/bin/printf', '%s\n', 'costs $5'] | spotkit.ec2.systemd_quote }}
    dest: /etc/systemd/system/example.service
    mode: "0644"

- name: Quote an environment assignment for Environment=
  ansible.builtin.debug:
    msg: "Environment={{ 'HTTP_PROXY=http://proxy:3128' | spotkit.ec2.systemd_quote(context='setting') }}"
"""

RETURN = r"""
_value:
  description: The arguments as one line, separated by single spaces.
  type: str
"""

import re

from ansible.errors import AnsibleFilterError

# Arguments made only of these characters mean the same to systemd quoted or not.
_PLAIN = re.compile(r"^[A-Za-z0-9_@+=:,./-]+$")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "%": "%%"}
CONTEXTS = ("exec", "setting")


def quote_argument(argument, context="exec"):
    """Return one argument written so that systemd reads it back unchanged."""
    if isinstance(argument, bool) or not isinstance(argument, (str, int, float)):
        raise ValueError("an argument must be a string or a number; got %r" % (argument,))
    text = str(argument)
    if "\0" in text:
        raise ValueError("an argument cannot hold a NUL character; got %r" % (text,))
    if _PLAIN.match(text):
        return text
    escapes = dict(_ESCAPES, **({"$": "$$"} if context == "exec" else {}))
    quoted = []
    for char in text:
        if char in escapes:
            quoted.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            quoted.append("\\x%02x" % ord(char))
        else:
            quoted.append(char)
    return '"%s"' % "".join(quoted)


def systemd_quote(arguments, context="exec"):
    """Filter entry point: `['/bin/echo', 'a b'] | spotkit.ec2.systemd_quote`."""
    if context not in CONTEXTS:
        raise AnsibleFilterError("systemd_quote: context must be one of %s; got %r" % (", ".join(CONTEXTS), context))
    if not isinstance(arguments, (list, tuple)):
        arguments = [arguments]
    try:
        return " ".join(quote_argument(argument, context) for argument in arguments)
    except ValueError as exc:
        raise AnsibleFilterError("systemd_quote: %s" % exc)


class FilterModule(object):
    """spotkit.ec2 systemd filters."""

    def filters(self):
        return {"systemd_quote": systemd_quote}
