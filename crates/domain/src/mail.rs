//! Outgoing email, as the domain composes it: who sends it, who gets it, a
//! subject and a body (SPEC §5: self-service registration emails a one-time
//! link, branded with the org's or tenant's sender name and address).
//!
//! The values here are checked once, when they are built, so a [`Mailer`]
//! adapter never meets a subject with a line break (a header injected into
//! the message) or a display name with a control character: it only encodes
//! and sends. Sending, and what can go wrong with it ([`MailError`]), is the
//! port's business.
//!
//! [`Mailer`]: crate::ports::Mailer

use std::fmt;

use crate::values::{Email, InvalidValue, check_text};

/// One end of a message: an address and, optionally, the display name mail
/// clients show instead of it (`"Acme Support" <support@acme.io>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox {
    name: Option<String>,
    address: Email,
}

impl Mailbox {
    /// Longest display name allowed, in characters.
    pub const MAX_NAME_LEN: usize = 100;

    /// A mailbox, with a display name when `name` is given: 1 to
    /// [`Self::MAX_NAME_LEN`] characters after trimming, refused like other
    /// free text ([`check_text`]) and, as it becomes part of one header line,
    /// refused with a line break or a tab too.
    pub fn new(name: Option<&str>, address: Email) -> Result<Self, InvalidValue> {
        let Some(name) = name else {
            return Ok(Self::address_only(address));
        };
        let name = name.trim();
        let len = name.chars().count();
        if len == 0 {
            return Err(InvalidValue::new("must not be empty"));
        }
        if len > Self::MAX_NAME_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters long (got {len})",
                Self::MAX_NAME_LEN
            )));
        }
        check_one_line(name)?;
        Ok(Self {
            name: Some(name.to_owned()),
            address,
        })
    }

    /// A mailbox without a display name: the bare address.
    pub fn address_only(address: Email) -> Self {
        Self {
            name: None,
            address,
        }
    }

    /// The display name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The address, which the message's envelope uses too.
    pub fn address(&self) -> &Email {
        &self.address
    }
}

/// `Name <address>`, or the bare address: how the log mailer writes it. It is
/// not a header encoding (a mail library quotes and encodes the name).
impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.address.as_str()),
            None => f.write_str(self.address.as_str()),
        }
    }
}

/// A part of an [`OutgoingMail`] that failed its check: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidMail {
    /// `subject`, `text` or `html`.
    pub field: &'static str,
    pub problem: InvalidValue,
}

impl InvalidMail {
    fn new(field: &'static str, problem: InvalidValue) -> Self {
        Self { field, problem }
    }
}

/// One message to send: sender, optional reply address, one recipient, a
/// one-line subject, a plain-text body and optionally an HTML alternative of
/// the same content. One recipient a message, on purpose: the domain's emails
/// (a registration link) are personal, and one recipient never learns
/// another's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    to: Mailbox,
    subject: String,
    text: String,
    html: Option<String>,
}

impl OutgoingMail {
    /// Longest subject allowed, in characters.
    pub const MAX_SUBJECT_LEN: usize = 200;
    /// Largest body allowed (each of the text and the HTML), in bytes: far
    /// above any email the domain writes, far below what relays refuse.
    pub const MAX_BODY_BYTES: usize = 1024 * 1024;

    /// A plain-text message. The subject must be one line of 1 to
    /// [`Self::MAX_SUBJECT_LEN`] characters (trimmed) without control
    /// characters; the text must not be empty and is checked like free text
    /// ([`check_text`]: line breaks and tabs allowed).
    pub fn new(from: Mailbox, to: Mailbox, subject: &str, text: &str) -> Result<Self, InvalidMail> {
        Ok(Self {
            from,
            reply_to: None,
            to,
            subject: parse_subject(subject).map_err(|e| InvalidMail::new("subject", e))?,
            text: parse_body(text).map_err(|e| InvalidMail::new("text", e))?,
            html: None,
        })
    }

    /// The same message, answered to `reply_to` rather than to the sender
    /// (a tenant's contact address, when its emails go out from a no-reply
    /// address).
    #[must_use]
    pub fn with_reply_to(mut self, reply_to: Mailbox) -> Self {
        self.reply_to = Some(reply_to);
        self
    }

    /// The same message with an HTML alternative of its text, checked like
    /// the text. Mail clients show one of the two; the text stays for those
    /// that show no HTML.
    pub fn with_html(mut self, html: &str) -> Result<Self, InvalidMail> {
        self.html = Some(parse_body(html).map_err(|e| InvalidMail::new("html", e))?);
        Ok(self)
    }

    /// The sender: the `From` header and the envelope's sender.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Where replies go, when not to the sender.
    pub fn reply_to(&self) -> Option<&Mailbox> {
        self.reply_to.as_ref()
    }

    /// The one recipient.
    pub fn to(&self) -> &Mailbox {
        &self.to
    }

    /// The subject, one trimmed line.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The plain-text body, as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The HTML alternative of the text, if any.
    pub fn html(&self) -> Option<&str> {
        self.html.as_deref()
    }
}

/// Refuses every control character, line breaks and tabs included: what
/// becomes one header line must stay one line.
fn check_one_line(raw: &str) -> Result<(), InvalidValue> {
    check_text(raw)?;
    if raw.contains(['\n', '\r', '\t']) {
        return Err(InvalidValue::new("must be one line, without tabs"));
    }
    Ok(())
}

fn parse_subject(raw: &str) -> Result<String, InvalidValue> {
    let subject = raw.trim();
    let len = subject.chars().count();
    if len == 0 {
        return Err(InvalidValue::new("must not be empty"));
    }
    if len > OutgoingMail::MAX_SUBJECT_LEN {
        return Err(InvalidValue::new(format!(
            "must be at most {} characters long (got {len})",
            OutgoingMail::MAX_SUBJECT_LEN
        )));
    }
    check_one_line(subject)?;
    Ok(subject.to_owned())
}

fn parse_body(raw: &str) -> Result<String, InvalidValue> {
    if raw.trim().is_empty() {
        return Err(InvalidValue::new("must not be empty"));
    }
    if raw.len() > OutgoingMail::MAX_BODY_BYTES {
        return Err(InvalidValue::new(format!(
            "must be at most {} bytes long (got {})",
            OutgoingMail::MAX_BODY_BYTES,
            raw.len()
        )));
    }
    check_text(raw)?;
    Ok(raw.to_owned())
}

/// Why a message was not sent. The message inside is for logs only: it may
/// quote the server's answer, never the message's content or a credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Permanent: the server refused the message or its recipient (an SMTP
    /// 5xx answer), or the message cannot be sent as it is. Sending it again
    /// unchanged fails again.
    #[error("mail rejected: {0}")]
    Rejected(String),
    /// Transient: the server could not be reached, timed out, or asked to try
    /// later (an SMTP 4xx answer). Sending it again later may succeed.
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(raw: &str) -> Email {
        Email::parse(raw).unwrap()
    }

    fn mail(subject: &str, text: &str) -> Result<OutgoingMail, InvalidMail> {
        OutgoingMail::new(
            Mailbox::new(Some("Acme Support"), email("support@acme.io")).unwrap(),
            Mailbox::address_only(email("ada@example.com")),
            subject,
            text,
        )
    }

    #[test]
    fn a_display_name_is_trimmed_and_kept() {
        let mailbox = Mailbox::new(Some("  Acme Support "), email("support@acme.io")).unwrap();
        assert_eq!(mailbox.name(), Some("Acme Support"));
        assert_eq!(mailbox.address().as_str(), "support@acme.io");
        assert_eq!(mailbox.to_string(), "Acme Support <support@acme.io>");
        let bare = Mailbox::address_only(email("support@acme.io"));
        assert_eq!(bare.name(), None);
        assert_eq!(bare.to_string(), "support@acme.io");
        assert_eq!(Mailbox::new(None, email("support@acme.io")), Ok(bare));
    }

    #[test]
    fn a_display_name_is_one_short_line() {
        let long = "n".repeat(Mailbox::MAX_NAME_LEN + 1);
        let at_limit = "n".repeat(Mailbox::MAX_NAME_LEN);
        assert!(Mailbox::new(Some(&at_limit), email("a@b.io")).is_ok());
        for bad in [
            "",
            "   ",
            long.as_str(),
            "Acme\r\nBcc: all@example.com",
            "Acme\nSupport",
            "Acme\tSupport",
            "Acme\u{0}",
            "Acme\u{7f}",
        ] {
            assert!(Mailbox::new(Some(bad), email("a@b.io")).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_subject_is_one_line_of_at_most_200_characters() {
        let at_limit = "s".repeat(OutgoingMail::MAX_SUBJECT_LEN);
        assert_eq!(mail(&at_limit, "body").unwrap().subject(), at_limit);
        assert_eq!(mail("  Confirm  ", "body").unwrap().subject(), "Confirm");
        let long = "s".repeat(OutgoingMail::MAX_SUBJECT_LEN + 1);
        for bad in [
            "",
            " ",
            long.as_str(),
            "Hi\r\nBcc: x@y.io",
            "Hi\nthere",
            "a\u{1b}b",
        ] {
            let error = mail(bad, "body").unwrap_err();
            assert_eq!(error.field, "subject", "{bad:?}");
        }
    }

    #[test]
    fn bodies_hold_lines_but_no_other_control_characters_and_are_bounded() {
        let text = "Hello,\r\n\tconfirm here: https://acme.io/c?t=abc\n";
        assert_eq!(mail("Confirm", text).unwrap().text(), text);
        let huge = "x".repeat(OutgoingMail::MAX_BODY_BYTES + 1);
        for bad in ["", "\n \n", "nul\u{0}", huge.as_str()] {
            assert_eq!(mail("Confirm", bad).unwrap_err().field, "text", "{bad:?}");
        }
        let base = mail("Confirm", "text").unwrap();
        assert_eq!(base.html(), None);
        let with = base.clone().with_html("<p>Hello</p>").unwrap();
        assert_eq!(with.html(), Some("<p>Hello</p>"));
        assert_eq!(base.with_html("\u{0}").unwrap_err().field, "html");
    }

    #[test]
    fn a_reply_address_is_optional() {
        let base = mail("Confirm", "text").unwrap();
        assert_eq!(base.reply_to(), None);
        let reply = Mailbox::address_only(email("help@acme.io"));
        let with = base.with_reply_to(reply.clone());
        assert_eq!(with.reply_to(), Some(&reply));
        assert_eq!(with.from().name(), Some("Acme Support"));
        assert_eq!(with.to().address().as_str(), "ada@example.com");
    }
}
