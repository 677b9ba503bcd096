"""The bench the browser tests run on: real pcscd with vpcd, enroll-vcard as the card, enrolld, and enroll-kiosk
gateways started as separate uids (setpriv), like Tests/HILTests/Bench.swift. It takes the machine-wide HIL lock,
and stops exactly the processes it started, by pid."""
import fcntl
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
JOHNS = os.path.abspath(os.path.join(ROOT, "..", "shared", "faces", "johns"))
READER0 = "Virtual PCD 00 00"
PORT0 = 35963
LOCK = "/tmp/enrolld-hil-bench.lock"
# The gateways' uids: no such users exist; the daemon's [roles] name them by number.
KIOSK_UID = 61001
OPERATOR_UID = 61002

SALLEY = ["I<UTOD231458907<<<<<<<<<<<<<<<", "9008124F3204153UTO<<<<<<<<<<<0", "SALLEY<<JOHN<<<<<<<<<<<<<<<<<<"]
SALLEY_KEY = {"documentNumber": "D23145890", "birthDate": "900812", "expiryDate": "320415"}


def photo(person, index):
    folder = os.path.join(JOHNS, person)
    return os.path.join(folder, sorted(os.listdir(folder))[index])


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class Bench:
    def __init__(self, binaries):
        self.binaries = binaries
        self.lock = os.open(LOCK, os.O_CREAT | os.O_RDWR, 0o666)
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.work = tempfile.mkdtemp(prefix="enrolld-browser-")
        # The gateways run as other uids: they must reach the daemon's socket in here.
        os.chmod(self.work, 0o755)
        self.processes = []
        self.card = None
        self.daemon = None
        self.socket = os.path.join(self.work, "api.sock")
        self.pki = os.path.join(self.work, "pki")

    def binary(self, name):
        path = os.path.join(self.binaries, name)
        if not os.access(path, os.X_OK):
            raise RuntimeError(f"{name} is not built at {path}: run swift build first")
        return path

    def launch(self, arguments, log, **options):
        handle = open(os.path.join(self.work, log), "ab")
        process = subprocess.Popen(arguments, stdout=options.pop("stdout", handle), stderr=handle,
                                   stdin=subprocess.DEVNULL, **options)
        self.processes.append(process)
        return process

    def run(self, arguments):
        result = subprocess.run(arguments, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{arguments[0]} failed: {result.stdout}{result.stderr}")
        return result.stdout

    @staticmethod
    def pcscd_running():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect("/run/pcscd/pcscd.comm")
            return True
        except OSError:
            return False
        finally:
            probe.close()

    def start_pcscd(self):
        if not self.pcscd_running():
            for stale in ("/run/pcscd/pcscd.comm", "/run/pcscd/pcscd.pid"):
                if os.path.exists(stale):
                    os.unlink(stale)
            pcscd = shutil.which("pcscd") or "/usr/sbin/pcscd"
            self.launch([pcscd, "--foreground"], "pcscd.log")
        self.run([self.binary("enroll-vcard"), "--wait-reader", READER0])

    def write_card_profile(self, name, mrz, portrait, extra=None):
        profile = {"kind": "emrtd", "mrz": mrz, "portrait": "@" + portrait,
                   "documentSigner": {"certificate": f"@{self.pki}/dsc.pem", "key": f"@{self.pki}/dsc.key"}}
        profile.update(extra or {})
        path = os.path.join(self.work, name)
        with open(path, "w") as file:
            json.dump(profile, file)
        return path

    def insert_card(self, profile, faults=()):
        """Puts a card on reader 0 (taking off the one there) and waits until the daemon sees it."""
        self.remove_card()
        arguments = [self.binary("enroll-vcard"), "--port", str(PORT0), "--profile", profile]
        for fault in faults:
            arguments += ["--fault", fault]
        self.card = self.launch(arguments, "vcard.log")
        self.wait_for(lambda: self.card_present(), "the card on the reader")

    def remove_card(self):
        if self.card is not None:
            self.stop(self.card)
            self.card = None
            self.wait_for(lambda: not self.card_present(), "the card to leave the reader")

    def card_present(self):
        status, body = self.api("GET", "/v1/readers")
        return status == 200 and any(r["name"] == READER0 and r["cardPresent"] for r in body["readers"])

    def start_daemon(self):
        os.makedirs(self.pki, exist_ok=True)
        self.run([self.binary("enroll-vcard"), "pki", "init", self.pki])
        config = os.path.join(self.work, "enrolld.conf")
        with open(config, "w") as file:
            file.write(f"""[daemon]
state_directory = {self.work}/state
[readers]
pcsc_retry_seconds = 0.3
[trust]
directory = {self.pki}/trust
[api]
socket_mode = 0666
[roles]
kiosk = uid:{KIOSK_UID}
operator = uid:{OPERATOR_UID}
""")
        self.run([self.binary("enrolld"), "--config", config, "ca", "init"])
        self.daemon = self.launch([self.binary("enrolld"), "--config", config, "--socket", self.socket], "enrolld.log")
        self.wait_for(lambda: self.api("GET", "/v1/health")[0] == 200, "enrolld to answer", timeout=20)

    def api(self, method, path, body=None, headers=None):
        """Calls the daemon directly (as root: admin)."""
        try:
            connection = UnixHTTPConnection(self.socket)
            payload = json.dumps(body).encode() if body is not None else None
            connection.request(method, path, body=payload,
                               headers={"Content-Type": "application/json", **(headers or {})})
            response = connection.getresponse()
            data = response.read()
            connection.close()
            return response.status, json.loads(data) if data else None
        except (OSError, ValueError):
            return 0, None

    def start_gateway(self, app, uid, extra=()):
        """Starts enroll-kiosk as `uid` (setpriv, no groups) and returns (process, start URL, port)."""
        arguments = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--",
                     self.binary("enroll-kiosk"), "--app", app, "--port", "0", "--socket", self.socket,
                     "--web", os.path.join(ROOT, "web"), *extra]
        process = self.launch(arguments, f"gateway-{app}.log", stdout=subprocess.PIPE)
        line = process.stdout.readline().decode().strip()
        if not line.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"enroll-kiosk printed no start URL: {line!r}\n{self.log(f'gateway-{app}.log')}")
        port = int(line.split(":")[2].split("/")[0])
        return process, line, port

    def log(self, name):
        try:
            with open(os.path.join(self.work, name), errors="replace") as file:
                return file.read()
        except OSError:
            return ""

    def wait_for(self, condition, what, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.1)
        raise RuntimeError(f"timed out after {timeout} s waiting for {what}")

    def stop(self, process):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process in self.processes:
            self.processes.remove(process)

    def stop_all(self):
        for process in reversed(list(self.processes)):
            self.stop(process)
        if not os.environ.get("ENROLLD_KEEP_BENCH"):
            shutil.rmtree(self.work, ignore_errors=True)
        fcntl.flock(self.lock, fcntl.LOCK_UN)
        os.close(self.lock)
