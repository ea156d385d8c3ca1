//! A real SMTP server on loopback: PyPI's `aiosmtpd`, run by python3 as a
//! child process on a port the OS picks. It parses each message it accepts
//! with Python's own `email` package (an implementation independent of
//! lettre) and prints it as one JSON line; the test reads those lines.
//!
//! Used by the mailer's own tests and by every test that reads the email a
//! use case sent (registration, through the HTTP API and the server binary).
//!
//! Recipients whose local part is `refused` are answered `550`, `later`
//! `451`. With TLS, the server makes a self-signed certificate for
//! `localhost` (with Python's `cryptography`) and prints it, so the mailer can
//! trust it; with a user and password it offers `AUTH` (over TLS only) and
//! accepts exactly those.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::thread;
use std::time::Duration;

use serde_json::Value;

const SERVER: &str = r#"
import asyncio, datetime, email, json, ssl, sys, tempfile
from email import policy
from aiosmtpd.smtp import SMTP

mode, user, password = sys.argv[1], sys.argv[2], sys.argv[3]

def self_signed():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    files = []
    for data in (pem, key.private_bytes(serialization.Encoding.PEM,
                 serialization.PrivateFormat.PKCS8, serialization.NoEncryption())):
        f = tempfile.NamedTemporaryFile(delete=False)
        f.write(data)
        f.close()
        files.append(f.name)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files[0], files[1])
    print("cert " + json.dumps(pem.decode()), flush=True)
    return context

class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0]
        if local == "refused":
            return "550 5.1.1 no such user here"
        if local == "later":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content, policy=policy.default)
        def mailbox(header):
            if msg[header] is None:
                return None
            a = msg[header].addresses[0]
            return {"name": a.display_name, "address": a.addr_spec}
        def part(kind):
            body = msg.get_body(preferencelist=(kind,))
            # Line ends are CRLF on the wire; the test compares with LF.
            return None if body is None else body.get_content().replace("\r\n", "\n")
        print(json.dumps({
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": session.auth_data.login.decode() if session.auth_data else None,
            "from": mailbox("From"),
            "to": mailbox("To"),
            "reply_to": mailbox("Reply-To"),
            "subject": msg["Subject"],
            "message_id": msg["Message-ID"],
            "date": msg["Date"],
            "content_type": msg.get_content_type(),
            "text": part("plain"),
            "html": part("html"),
            "raw": envelope.original_content.decode("ascii", "replace"),
        }), flush=True)
        return "250 OK"

def check(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult
    ok = auth_data.login.decode() == user and auth_data.password.decode() == password
    # `handled=False`: aiosmtpd answers the failure (535) itself.
    return AuthResult(success=ok, handled=False, auth_data=auth_data)

async def main():
    loop = asyncio.get_running_loop()
    context = self_signed() if mode in ("starttls", "tls") else None
    options = {}
    if user:
        options.update(authenticator=check, auth_require_tls=True)
    if mode == "starttls":
        options.update(tls_context=context, require_starttls=True)
    factory = lambda: SMTP(Handler(), hostname="localhost", **options)
    server = await loop.create_server(factory, "127.0.0.1", 0,
                                      ssl=context if mode == "tls" else None)
    print("port", server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

/// How the test server secures its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Plain,
    StartTls,
    Tls,
}

pub struct SmtpServer {
    child: Child,
    lines: Receiver<String>,
    pub port: u16,
    /// The server's certificate (PEM), when it speaks TLS.
    pub certificate: Option<String>,
}

impl SmtpServer {
    /// A server without authentication.
    pub fn start(mode: Mode) -> Self {
        Self::with_login(mode, "", "")
    }

    /// A server that accepts `user` and `password` (and no one else) when
    /// `user` is not empty.
    pub fn with_login(mode: Mode, user: &str, password: &str) -> Self {
        let mode_arg = match mode {
            Mode::Plain => "plain",
            Mode::StartTls => "starttls",
            Mode::Tls => "tls",
        };
        let mut child = Command::new("python3")
            .args(["-c", SERVER, mode_arg, user, password])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs (`cargo xtask setup` installs aiosmtpd)");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            lines,
            port: 0,
            certificate: None,
        };
        loop {
            let line = server.next_line().unwrap_or_else(|| {
                panic!(
                    "the SMTP server did not start: is aiosmtpd installed (`cargo xtask setup`)?"
                )
            });
            if let Some(pem) = line.strip_prefix("cert ") {
                server.certificate = Some(serde_json::from_str(pem).expect("a JSON string"));
            } else if let Some(port) = line.strip_prefix("port ") {
                server.port = port.trim().parse().expect("a port number");
                return server;
            }
        }
    }

    /// The server's next line; `None` when it printed nothing for 30 s or
    /// exited (a bound so that a broken setup fails instead of hanging).
    fn next_line(&self) -> Option<String> {
        self.lines.recv_timeout(Duration::from_secs(30)).ok()
    }

    /// The next message the server accepted, as the server's JSON line
    /// (waiting up to 30 s for it: a mail sent off a request's path arrives
    /// after the answer).
    pub fn received(&self) -> Value {
        let line = self
            .next_line()
            .expect("the SMTP server printed no message");
        serde_json::from_str(&line).expect("a JSON line")
    }

    /// Fails if a message arrived that was not read with [`Self::received`].
    pub fn assert_nothing_received(&self) {
        if let Ok(line) = self.lines.try_recv() {
            panic!("a message arrived: {line}");
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
