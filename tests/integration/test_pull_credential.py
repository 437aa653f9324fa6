"""spotkit-pull of a private project over HTTPS, on this machine: the real script (rendered from the
_common role's template, its instance paths moved into a temporary directory), the real ansible-pull,
the token from an SSM SecureString in the AWS emulator, and a git server that serves a repository
over HTTPS (git http-backend) only to a request that carries the token.

The token must reach git, the script's and ansible-pull's own (the git module inherits the
environment), and show nowhere: not in a command line or an environment of any process while the run
runs, not in the output or the log, not in a file left behind, not in a credential store configured
elsewhere. The SSH deploy key's way is molecule/ansible_pull's.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import signal
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness import REPO
from harness.aws import CREDENTIALS, REGION
from harness.playbook import run_playbook

PARAMETER = "/spotkit/itest/token"
USER = "oauth2"
TOKEN = "glpat-spotkit-itest-9f3b2c7d1e"
RENDER = """
- hosts: localhost
  gather_facts: false
  vars_files: [%s/roles/_common/vars/main.yml]
  tasks:
    - ansible.builtin.copy:
        content: "{{ lookup('ansible.builtin.template', '%s/roles/_common/templates/spotkit-pull.sh.j2', template_vars=script) }}"
        dest: "{{ out }}"
        mode: "0755"
""" % (REPO, REPO)
PROJECT_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.copy:
        src: "{{ playbook_dir }}/page.txt"
        dest: %s
        mode: "0644"
"""


class GitHandler(http.server.BaseHTTPRequestHandler):
    """git's smart HTTP through git http-backend, for requests with the token only."""

    root = None
    expected = "Basic " + base64.b64encode(("%s:%s" % (USER, TOKEN)).encode()).decode()
    refused = []

    def do_GET(self):  # noqa: N802 (http.server's names)
        self.serve()

    def do_POST(self):  # noqa: N802
        self.serve()

    def serve(self):
        if self.headers.get("Authorization") != self.expected:
            self.refused.append(self.headers.get("Authorization"))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _sep, query = self.path.partition("?")
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        env = {"GIT_PROJECT_ROOT": str(self.root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path, "QUERY_STRING": query,
               "REQUEST_METHOD": self.command, "CONTENT_TYPE": self.headers.get("Content-Type", ""), "REMOTE_USER": USER,
               "REMOTE_ADDR": "127.0.0.1", "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
               "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""), "PATH": os.environ["PATH"]}
        output = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=True).stdout
        head, _sep, payload = output.partition(b"\r\n\r\n")
        headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if line]
        status = next((int(value.split()[0]) for name, value in headers if name.lower() == "status"), 200)
        self.send_response(status)
        for name, value in headers:
            if name.lower() != "status":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture(name="server", scope="module")
def fixture_server(tmp_path_factory):
    """The git server on a free loopback port, with a self-signed certificate: (url of the project, CA file)."""
    work = tmp_path_factory.mktemp("git-server")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", work / "key.pem", "-out", work / "cert.pem"],
                   check=True, capture_output=True)
    GitHandler.root = work / "repos"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), GitHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(work / "cert.pem", work / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "https://127.0.0.1:%d/site.git" % server.server_address[1], work / "cert.pem"
    finally:
        server.shutdown()


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture(name="instance", scope="module")
def fixture_instance(tmp_path_factory, server, aws):
    """The instance's paths, the project (one commit), the settings, the rendered script and its environment."""
    url, ca = server
    root = tmp_path_factory.mktemp("instance")
    work = root / "work"
    work.mkdir()
    (work / "pull.yml").write_text(PROJECT_PLAY % (root / "published.txt"))
    (work / "page.txt").write_text("version 1\n")
    git("init", "--quiet", "--initial-branch=main", cwd=work)
    git("add", "-A", cwd=work)
    git("-c", "user.name=test", "-c", "user.email=test@example.invalid", "commit", "--quiet", "-m", "version 1", cwd=work)
    git("clone", "--quiet", "--bare", work, GitHandler.root / "site.git")
    (root / "stack.json").write_text(json.dumps({"spot_stack": "itest", "spot_region": REGION, "spot_endpoint_url": aws.url}))
    paths = {"_common_settings_file": root / "stack.json", "_common_pull_log": root / "spotkit-pull.log",
             "_common_pull_applied_file": root / "state" / "pull-applied", "_common_run_dir": root / "run",
             "_common_requirements_applied_file": root / "state" / "requirements-applied",
             "_common_pull_lock": root / "pull.lock", "_common_known_hosts_file": root / "state" / "known_hosts"}
    bin_dir = Path(sys.executable).parent
    script = {"__pull_repo": url, "__pull_version": "main", "__pull_checkout": str(root / "project"),
              "__pull_collections": str(root / "collections"), "__pull_executable": str(bin_dir / "ansible-pull"),
              "__pull_python": sys.executable, "__pull_extra_args": [], "__pull_playbook": "pull.yml",
              "__pull_credential": PARAMETER, "__pull_allowed_signers": [], "__pull_known_hosts": []}
    (root / "render.yml").write_text(RENDER)
    run = run_playbook("-i", "localhost,", "-c", "local", root / "render.yml", "-e", json.dumps(dict(
        {key: str(value) for key, value in paths.items()}, script=script, out=str(root / "spotkit-pull"),
        ansible_python_interpreter=sys.executable)), cwd=root)
    assert run.rc == 0, run.stdout[-3000:]
    # A credential store configured elsewhere, which must never see the token.
    (root / "gitconfig").write_text("[credential]\n\thelper = store --file %s\n" % (root / "stored-credentials"))
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "GIT_"))}
    env.update(CREDENTIALS, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, GIT_SSL_CAINFO=str(ca),
               GIT_CONFIG_GLOBAL=str(root / "gitconfig"), GIT_CONFIG_NOSYSTEM="1", HOME=str(root))
    return {"root": root, "work": work, "env": env, "script": root / "spotkit-pull", "log": root / "spotkit-pull.log"}


def store_token(aws, value):
    aws.client("ssm").put_parameter(Name=PARAMETER, Value=value, Type="SecureString", Overwrite=True)


@contextlib.contextmanager
def sampling_processes():
    """Every command line and environment of this machine's processes while the block runs."""
    seen, stop = set(), threading.Event()

    def sample():
        while not stop.is_set():
            for pid in os.listdir("/proc"):
                for name in ("cmdline", "environ") if pid.isdigit() and pid != str(os.getpid()) else ():
                    with contextlib.suppress(OSError):
                        seen.add(Path("/proc", pid, name).read_bytes().replace(b"\0", b" ").decode(errors="replace"))
            stop.wait(0.01)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


def run_script(instance, *args):
    return subprocess.run([str(instance["script"]), *args], env=instance["env"], capture_output=True, text=True,
                          timeout=300, check=False)


def test_a_private_project_is_pulled_with_the_token_that_shows_nowhere(instance, aws):
    store_token(aws, "%s:%s" % (USER, TOKEN))
    with sampling_processes() as seen:
        run = run_script(instance, "-vvv")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert (instance["root"] / "published.txt").read_text() == "version 1\n"
    head = git("rev-parse", "HEAD", cwd=instance["work"])
    # ansible-pull's own fetch, its git module, reached the server with the token too, at -vvv.
    assert '"after": "%s"' % head in output and '"verify_commit": false' in output
    # The sampler saw the run's git, with the helper that reads the file.
    assert any("git-remote-https" in line for line in seen)
    assert any("cat %s/pull-credential" % (instance["root"] / "run") in line for line in seen)
    for where, text in [("a command line or environment", "\n".join(seen)), ("the output", output),
                        ("the log", instance["log"].read_text())]:
        assert TOKEN not in text, "%s holds the token" % where
    assert sorted(os.listdir(instance["root"] / "run")) == []
    assert not (instance["root"] / "stored-credentials").exists()
    leftovers = subprocess.run(["grep", "-rlF", "-e", TOKEN, str(instance["root"])], capture_output=True, text=True, check=False)
    assert leftovers.stdout == ""


def test_a_refused_token_fails_the_run_without_waiting_for_a_prompt(instance, aws):
    store_token(aws, "%s:wrong-token" % USER)
    GitHandler.refused.clear()
    run = run_script(instance)
    assert run.returncode != 0
    assert "failed (exit 1): the running services are left as they are" in run.stdout
    assert "Basic " + base64.b64encode(b"oauth2:wrong-token").decode() in GitHandler.refused
    assert not (instance["root"] / "state" / "pull-applied").exists()
    assert sorted(os.listdir(instance["root"] / "run")) == []


@pytest.mark.parametrize("value,message", [
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----", "holds no token (TOKEN or USER:TOKEN)"),
    (None, "cannot read the project's credential %s: An error occurred (ParameterNotFound)" % PARAMETER),
])
def test_a_parameter_that_holds_no_token_fails_the_run_naming_it(instance, aws, value, message):
    if value is None:
        aws.client("ssm").delete_parameter(Name=PARAMETER)
    else:
        store_token(aws, value)
    run = run_script(instance)
    assert run.returncode != 0
    assert message in run.stdout
    assert "b3Blbn" not in run.stdout


def test_a_run_stopped_while_it_waits_for_the_lock_leaves_the_running_runs_credential(instance):
    # The lock is held (as by a run that is reading the project); that run's credential is in place.
    run_dir = instance["root"] / "run"
    run_dir.mkdir(exist_ok=True)
    (run_dir / "pull-credential").write_text("the holder's\n")
    with subprocess.Popen(["flock", str(instance["root"] / "pull.lock"), "sleep", "60"]) as holder:
        try:
            # Its own process group, which is stopped as a whole, as systemd stops a unit's processes.
            with subprocess.Popen([str(instance["script"])], env=instance["env"], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, start_new_session=True) as waiting:
                with pytest.raises(subprocess.TimeoutExpired):
                    waiting.wait(timeout=2)
                os.killpg(waiting.pid, signal.SIGTERM)
                waiting.wait(timeout=30)
            assert (run_dir / "pull-credential").read_text() == "the holder's\n"
        finally:
            holder.kill()
    (run_dir / "pull-credential").unlink()
