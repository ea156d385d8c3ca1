//! What a TXT lookup's answer or error means for the port.

use domain::ports::DnsFailure;
use hickory_resolver::ResolveError;
use hickory_resolver::lookup::TxtLookup;
use hickory_resolver::proto::ProtoErrorKind;
use hickory_resolver::proto::op::ResponseCode;

/// Each TXT record as one string: its character strings joined without a
/// separator (long values are split into 255-byte strings and mean their
/// concatenation), bytes that are not UTF-8 replaced.
pub(crate) fn texts(lookup: &TxtLookup) -> Vec<String> {
    lookup
        .iter()
        .map(|txt| {
            let bytes: Vec<u8> = txt.txt_data().iter().flatten().copied().collect();
            String::from_utf8_lossy(&bytes).into_owned()
        })
        .collect()
}

/// What a failed lookup tells: an existing name without TXT records (NOERROR,
/// no answer) is an empty answer; NXDOMAIN is [`DnsFailure::NxDomain`]; a
/// timeout is [`DnsFailure::Timeout`]; every other error code (SERVFAIL,
/// REFUSED, …) and every other error (no nameserver reachable, a socket
/// error, a malformed answer) is [`DnsFailure::ServFail`], which the check
/// records as a failure of the nameservers rather than of the operator's zone.
pub(crate) fn failure(error: &ResolveError) -> Result<Vec<String>, DnsFailure> {
    let Some(proto) = error.proto() else {
        return Err(DnsFailure::ServFail);
    };
    match proto.kind() {
        ProtoErrorKind::NoRecordsFound { response_code, .. } => match *response_code {
            ResponseCode::NoError => Ok(Vec::new()),
            ResponseCode::NXDomain => Err(DnsFailure::NxDomain),
            _ => Err(DnsFailure::ServFail),
        },
        ProtoErrorKind::Timeout => Err(DnsFailure::Timeout),
        _ => Err(DnsFailure::ServFail),
    }
}
