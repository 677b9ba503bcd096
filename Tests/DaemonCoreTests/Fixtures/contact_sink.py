#!/usr/bin/python3
# Test stand-ins for activation through the contact (issue 24), on loopback: a real SMTP server (Debian's
# python3-aiosmtpd; STARTTLS and AUTH required, with DIRECTORY/cert.pem and key.pem) and an HTTP SMS gateway.
# Usage: contact_sink.py SMTP-PORT SMS-PORT DIRECTORY normal|refuse. What they receive is appended as JSON lines to
# DIRECTORY/mail.jsonl, sms.jsonl and refused.jsonl; DIRECTORY/ready appears once both listen.
import sys, os, json, ssl, time, threading, signal, http.server
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, sms_port, directory, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()

def record(name, entry):
    with lock:
        with open(os.path.join(directory, name), "a") as f:
            f.write(json.dumps(entry) + "\n")

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if mode == "refuse":
            record("refused.jsonl", {"to": address})
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        record("mail.jsonl", {"to": envelope.rcpt_tos, "from": envelope.mail_from,
                              "tls": session.ssl is not None, "auth": session.authenticated,
                              "data": envelope.content.decode("utf-8", "replace")})
        return "250 OK"

def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"enrolld" and auth_data.password == b"s3cret"
    return AuthResult(success=ok)

context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem"))
controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                        authenticator=authenticator, auth_required=True, auth_require_tls=True,
                        server_hostname="localhost")
controller.start()

class SMS(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        record("sms.jsonl", {"path": self.path, "auth": self.headers.get("Authorization"),
                             "key": self.headers.get("Idempotency-Key"), "body": json.loads(body)})
        self.send_response(503 if mode == "refuse" else 202)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

httpd = http.server.ThreadingHTTPServer(("127.0.0.1", sms_port), SMS)
open(os.path.join(directory, "ready"), "w").close()
signal.signal(signal.SIGTERM, lambda *a: (controller.stop(), os._exit(0)))
httpd.serve_forever()
