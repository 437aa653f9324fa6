"""A role's own expressions rendered as a play would, without an instance: the role's defaults and
vars, with the given variables over them, templated by Ansible."""

from __future__ import annotations

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from harness import REPO


def _trusted(value):
    """Role files are trusted templates when Ansible loads them; plain YAML loading drops that."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {key: _trusted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_trusted(item) for item in value]
    return value


def render_role_variable(role, name, variables=None):
    """The value of the variable `name` of roles/<role>, with `variables` over its defaults and vars."""
    files = [REPO / "roles" / role / part / "main.yml" for part in ("defaults", "vars")]
    merged = {}
    for path in files:
        merged.update(yaml.safe_load(path.read_text()) or {})
    merged = _trusted({**merged, **(variables or {})})
    return Templar(loader=DataLoader(), variables=merged).template(merged[name])


def render_role_template(role, template, variables=None):
    """roles/<role>/templates/<template> rendered with the role's defaults and vars (and the _common role's paths),
    `variables` over them, as the template module would write it."""
    merged = {"ansible_managed": "Ansible managed"}
    for path in [REPO / "roles" / "_common" / "vars" / "main.yml"] + [REPO / "roles" / role / part / "main.yml" for part in ("defaults", "vars")]:
        merged.update(yaml.safe_load(path.read_text()) or {})
    merged = _trusted({**merged, **(variables or {})})
    text = (REPO / "roles" / role / "templates" / template).read_text()
    return Templar(loader=DataLoader(), variables=merged).template(trust_as_template(text))
