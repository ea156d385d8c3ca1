//! The MIME message of an [`OutgoingMail`], built with lettre's builder, which
//! encodes what needs encoding (display names and subjects outside ASCII as
//! RFC 2047 words, bodies as quoted-printable or base64 when not 7-bit).

use domain::{MailError, Mailbox, OutgoingMail};
use lettre::Message;
use lettre::message::{MultiPart, SinglePart};

/// The message, with the envelope lettre derives from its headers: the
/// sender's address as `MAIL FROM`, the one recipient as `RCPT TO`.
pub(crate) fn build(mail: &OutgoingMail) -> Result<Message, MailError> {
    let mut builder = Message::builder()
        .from(mailbox(mail.from())?)
        .to(mailbox(mail.to())?)
        .subject(mail.subject())
        .message_id(Some(message_id(mail.from())));
    if let Some(reply_to) = mail.reply_to() {
        builder = builder.reply_to(mailbox(reply_to)?);
    }
    let built = match mail.html() {
        None => builder.singlepart(SinglePart::plain(mail.text().to_owned())),
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            mail.text().to_owned(),
            html.to_owned(),
        )),
    };
    built.map_err(|e| MailError::Rejected(format!("the message cannot be built: {e}")))
}

/// The domain's mailbox as lettre's. The domain checks an address for shape
/// only; one lettre cannot parse either cannot be sent, so it is refused for
/// good.
fn mailbox(mailbox: &Mailbox) -> Result<lettre::message::Mailbox, MailError> {
    let address = mailbox
        .address()
        .as_str()
        .parse::<lettre::Address>()
        .map_err(|e| MailError::Rejected(format!("an address cannot be used: {e}")))?;
    Ok(lettre::message::Mailbox::new(
        mailbox.name().map(str::to_owned),
        address,
    ))
}

/// `<128 random bits in hex@the sender's domain>`: unique without a
/// coordinating counter, and under a domain the sender answers for (lettre's
/// own would be under `localhost`, which spam filters hold against a message).
fn message_id(from: &Mailbox) -> String {
    let address = from.address().as_str();
    let domain = address.rsplit_once('@').map_or(address, |(_, d)| d);
    format!("<{:032x}@{domain}>", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use domain::Email;

    use super::*;

    fn mail() -> OutgoingMail {
        OutgoingMail::new(
            Mailbox::new(Some("Acme"), Email::parse("no-reply@acme.io").unwrap()).unwrap(),
            Mailbox::new(None, Email::parse("ada@example.com").unwrap()).unwrap(),
            "Confirm",
            "Hello",
        )
        .unwrap()
    }

    #[test]
    fn the_envelope_is_the_sender_and_the_one_recipient() {
        let message = build(&mail()).unwrap();
        let envelope = message.envelope();
        assert_eq!(
            envelope.from().map(ToString::to_string).as_deref(),
            Some("no-reply@acme.io")
        );
        let to: Vec<String> = envelope.to().iter().map(ToString::to_string).collect();
        assert_eq!(to, ["ada@example.com"]);
    }

    #[test]
    fn message_ids_are_under_the_senders_domain_and_differ() {
        let from = mail().from().clone();
        let (a, b) = (message_id(&from), message_id(&from));
        assert!(a.starts_with('<') && a.ends_with("@acme.io>"), "{a}");
        assert_eq!(a.len(), "<@acme.io>".len() + 32);
        assert_ne!(a, b);
    }

    #[test]
    fn an_address_lettre_cannot_parse_is_rejected() {
        // The domain accepts a quote in the local part; lettre does not.
        let odd = Email::parse("a\"b@acme.io").unwrap();
        let mail = OutgoingMail::new(
            Mailbox::new(None, odd).unwrap(),
            Mailbox::new(None, Email::parse("ada@example.com").unwrap()).unwrap(),
            "Confirm",
            "Hello",
        )
        .unwrap();
        assert!(matches!(build(&mail), Err(MailError::Rejected(_))));
    }
}
