"""The drill's prober (sandbox/tools/site_prober.py): what a visitor saw, counted from the requests' outcomes,
and the whole tool against a real local server that goes away and comes back."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[3] / "sandbox" / "tools"
sys.path.insert(0, str(TOOLS))
import site_prober  # noqa: E402 pylint: disable=wrong-import-position


def probe_of(outcomes, interval=0.2):
    probe = site_prober.Probe()
    for index, ok in enumerate(outcomes):
        probe.record(1000 + index * interval, ok)
    return probe


def test_down_is_the_longest_run_of_failed_requests():
    summary = probe_of([True, False, True, False, False, False, True, False, True]).summary(stopped=1002.0)
    assert summary["requests"] == 9 and summary["failed"] == 5
    # Runs: 1000.2-1000.4 (0.2 s), 1000.6-1001.2 (0.6 s), 1001.4-1001.6 (0.2 s).
    assert summary["down_seconds"] == 0.6
    assert (summary["first_failure"], summary["last_failure"]) == (site_prober.iso(1000.2), site_prober.iso(1001.4))


def test_no_failure_is_no_downtime():
    summary = probe_of([True] * 5).summary(stopped=1001.0)
    assert (summary["failed"], summary["down_seconds"], summary["first_failure"]) == (0, 0.0, None)


def test_a_site_that_never_came_back_is_down_until_the_stop():
    assert probe_of([True, False, False]).summary(stopped=1003.0)["down_seconds"] == 2.8


class Answer(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def serve(port=0):
    server = ThreadingHTTPServer(("127.0.0.1", port), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_tool_counts_an_outage_of_a_real_server_and_writes_its_summary_when_stopped(tmp_path):
    server = serve()
    port = server.server_address[1]
    summary = tmp_path / "summary.json"
    prober = subprocess.Popen([sys.executable, str(TOOLS / "site_prober.py"), "--url", "http://127.0.0.1:%d/" % port,
                               "--summary", str(summary), "--interval", "0.1"])
    try:
        time.sleep(0.5)
        server.shutdown()
        server.server_close()
        time.sleep(1.0)
        server = serve(port)
        time.sleep(0.5)
    finally:
        prober.send_signal(signal.SIGTERM)
        assert prober.wait(timeout=10) == 0
        server.shutdown()
    result = json.loads(summary.read_text())
    assert 0 < result["failed"] < result["requests"]
    assert 0.7 <= result["down_seconds"] <= 2.0, result
