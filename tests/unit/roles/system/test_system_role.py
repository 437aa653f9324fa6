"""The system role's own expressions, checked without an instance: the swap file's default size from the
instance's memory, and the swap unit's name.

The molecule scenario runs in containers, where the role skips the swap file: these are its numbers.
"""

from __future__ import annotations

import base64

import pytest
from harness.role_variables import render_role_variable


def render(name, memtotal_kib=443_000, **overrides):
    meminfo = "MemTotal:       %d kB\nMemFree:          100000 kB\nSwapTotal:             0 kB\n" % memtotal_kib
    meminfo_slurped = {"content": base64.b64encode(meminfo.encode()).decode()}
    return render_role_variable("system", name, {**overrides, "__system_meminfo": meminfo_slurped})


# MemTotal as Linux reports it (a little under the instance's memory) -> MiB of the swap file.
@pytest.mark.parametrize("memtotal_kib,swap_mib", [
    (443_000, 512),      # t4g.nano, 512 MiB
    (262_144, 256),      # exactly 256 MiB: no rounding up
    (263_168, 512),      # 257 MiB
    (944_000, 1024),     # t4g.micro, 1 GiB
    (1_940_000, 2048),   # t4g.small, 2 GiB
    (3_980_000, 2048),   # t4g.medium, 4 GiB: at most 2 GiB
    (16_000_000, 2048),
])
def test_the_default_swap_file_is_the_memory_rounded_up_to_256_mib_at_most_2_gib(memtotal_kib, swap_mib):
    assert int(render("_system_swap_size", memtotal_kib)) == swap_mib
    assert int(render("_system_swap_bytes", memtotal_kib)) == swap_mib * 1024 * 1024


@pytest.mark.parametrize("size", [0, 64, 4096])
def test_a_size_given_wins_over_the_memory(size):
    assert int(render("_system_swap_size", 443_000, system_swap_size_mib=size)) == size


@pytest.mark.parametrize("path,unit", [("/swapfile", "swapfile.swap"), ("/var/swap", "var-swap.swap"),
                                       ("/var/lib/spotkit/swap.img", "var-lib-spotkit-swap.img.swap")])
def test_the_swap_unit_is_named_after_its_path_as_systemd_names_it(path, unit):
    assert render("_system_swap_unit", system_swap_file=path) == unit
