"""Unit tests for the spotkit.ec2.systemd_quote filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.spotkit.ec2.plugins.filter.systemd_quote import FilterModule, systemd_quote


@pytest.mark.parametrize(
    ("arguments", "context", "expected"),
    [
        (["/usr/bin/docker", "run", "--publish", "8080:80", "reg:5000/blog:latest"], "exec",
         "/usr/bin/docker run --publish 8080:80 reg:5000/blog:latest"),
        (["--listen", ":80"], "exec", "--listen :80"),
        (["hello world"], "exec", '"hello world"'),
        (['say "hi"'], "exec", '"say \\"hi\\""'),
        (["back\\slash"], "exec", '"back\\\\slash"'),
        (["100%"], "exec", '"100%%"'),
        (["$HOME"], "exec", '"$$HOME"'),
        (["HOME=$HOME"], "setting", '"HOME=$HOME"'),
        (["100%"], "setting", '"100%%"'),
        (["two\nlines\tand a tab"], "exec", '"two\\nlines\\tand a tab"'),
        (["bell\a"], "exec", '"bell\\x07"'),
        ([""], "exec", '""'),
        ([8080, 1.5], "exec", "8080 1.5"),
        ("single", "exec", "single"),
        ("HTTP_PROXY=http://proxy:3128", "setting", "HTTP_PROXY=http://proxy:3128"),
    ],
)
def test_quotes_only_what_systemd_would_read_otherwise(arguments, context, expected):
    assert systemd_quote(arguments, context=context) == expected


def test_is_registered_and_defaults_to_exec_lines():
    assert FilterModule().filters()["systemd_quote"](["a b", "$x"]) == '"a b" "$$x"'


@pytest.mark.parametrize(
    ("arguments", "context", "message"),
    [
        ([None], "exec", "an argument must be a string or a number; got None"),
        ([True], "exec", "an argument must be a string or a number; got True"),
        ([["nested"]], "exec", "got ['nested']"),
        (["nul\0byte"], "exec", "cannot hold a NUL character"),
        (["x"], "shell", "context must be one of exec, setting; got 'shell'"),
    ],
)
def test_bad_input_names_the_value(arguments, context, message):
    with pytest.raises(AnsibleFilterError, match="systemd_quote: .*") as error:
        systemd_quote(arguments, context=context)
    assert message in str(error.value)
