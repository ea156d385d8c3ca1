//! The loopback nameserver for tests: one authoritative zone, [`ZONE`], in
//! memory, served by hickory-server in-process on a free port of 127.0.0.1
//! (UDP and TCP), its records changed by the test between lookups.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hickory_server::ServerFuture;
use hickory_server::authority::{AuthorityObject, Catalog, ZoneType};
use hickory_server::proto::rr::rdata::{A, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::store::in_memory::InMemoryAuthority;
use tokio::net::{TcpListener, UdpSocket};

/// The zone the nameserver is authoritative for.
pub const ZONE: &str = "tenancy-test.example";

/// A record's TTL: a day, so any answer a resolver cached would still be
/// fresh at its next lookup.
const TTL: u32 = 86_400;

/// A running nameserver; it stops when dropped.
pub struct Nameserver {
    pub addr: SocketAddr,
    zone: Arc<InMemoryAuthority>,
    serial: AtomicU32,
    _server: ServerFuture<Catalog>,
}

impl Nameserver {
    /// Serves [`ZONE`] with its SOA record and `www.` (an A record, no TXT) on
    /// a free port of 127.0.0.1, over UDP and TCP.
    pub async fn start() -> Self {
        let origin = fqdn(ZONE);
        let zone = Arc::new(InMemoryAuthority::empty(
            origin.clone(),
            ZoneType::Primary,
            false,
        ));
        let mut catalog = Catalog::new();
        catalog.upsert(
            LowerName::new(&origin),
            vec![Arc::clone(&zone) as Arc<dyn AuthorityObject>],
        );
        let mut server = ServerFuture::new(catalog);
        let (udp, tcp) = bind_both().await;
        let addr = udp.local_addr().expect("a local address");
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5));

        let nameserver = Self {
            addr,
            zone,
            serial: AtomicU32::new(1),
            _server: server,
        };
        let soa = SOA::new(
            fqdn(&format!("ns.{ZONE}")),
            fqdn(&format!("hostmaster.{ZONE}")),
            1,
            3600,
            600,
            86_400,
            TTL,
        );
        nameserver.upsert(ZONE, RData::SOA(soa)).await;
        nameserver
            .upsert(
                &format!("www.{ZONE}"),
                RData::A(A(Ipv4Addr::new(192, 0, 2, 1))),
            )
            .await;
        nameserver
    }

    /// Adds a TXT record of these character strings at `name` (beside any
    /// already there), taking effect for the next query.
    pub async fn add_txt(&self, name: &str, strings: &[&str]) {
        let strings = strings.iter().map(|s| (*s).to_owned()).collect();
        self.upsert(name, RData::TXT(TXT::new(strings))).await;
    }

    /// Makes `name` exist without any TXT record (an A record), as a name
    /// whose owner has not published the challenge yet.
    pub async fn add_host(&self, name: &str) {
        self.upsert(name, RData::A(A(Ipv4Addr::new(192, 0, 2, 2))))
            .await;
    }

    async fn upsert(&self, name: &str, data: RData) {
        let serial = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let record = Record::from_rdata(fqdn(name), TTL, data);
        assert!(
            self.zone.upsert(record, serial).await,
            "the zone took the record"
        );
    }
}

fn fqdn(name: &str) -> Name {
    Name::from_ascii(format!("{name}.")).expect("a valid name")
}

/// A UDP socket and a TCP listener on one free port of 127.0.0.1, so one
/// address serves both (another process may hold the TCP side of a port the
/// kernel gave out for UDP: then try another).
async fn bind_both() -> (UdpSocket, TcpListener) {
    for _ in 0..20 {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind UDP");
        let port = udp.local_addr().expect("a local address").port();
        if let Ok(tcp) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            return (udp, tcp);
        }
    }
    panic!("no port free for both UDP and TCP on 127.0.0.1");
}

/// A nameserver that never answers: a UDP socket that reads every query and
/// drops it. Stops when the returned task is aborted or the runtime ends.
pub async fn silent() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .expect("bind UDP");
    let addr = socket.local_addr().expect("a local address");
    let task = tokio::spawn(async move {
        let mut buffer = [0_u8; 4096];
        while socket.recv_from(&mut buffer).await.is_ok() {}
    });
    (addr, task)
}
