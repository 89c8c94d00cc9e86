//! Consortium admission over real libp2p (TCP + noise + yamux on loopback): members connect and exchange
//! consensus messages; a key outside the node list is refused when it connects and cannot inject messages; a member
//! removed from the list is disconnected.

use std::time::Duration;

use accord_node::network::{Member, Network, NetworkCommand, NetworkEvent, SyncRequest, SyncResponse, peer_id_of};
use accord_sdk::keys::KeyPair;

async fn next_matching(net: &mut Network, what: &str, f: impl Fn(&NetworkEvent) -> bool) -> NetworkEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ev = tokio::time::timeout_at(deadline, net.events.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .expect("network task alive");
        if f(&ev) {
            return ev;
        }
    }
}

async fn listening(net: &mut Network) -> libp2p::Multiaddr {
    match next_matching(net, "listen address", |e| matches!(e, NetworkEvent::Listening(_))).await {
        NetworkEvent::Listening(a) => a,
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_members_connect_and_speak() {
    let (a, b, outsider) = (KeyPair::generate(), KeyPair::generate(), KeyPair::generate());
    let pa = peer_id_of(&a.public_key()).expect("peer id");
    let pb = peer_id_of(&b.public_key()).expect("peer id");
    let po = peer_id_of(&outsider.public_key()).expect("peer id");
    let member =
        |k: &KeyPair| Member { peer: peer_id_of(&k.public_key()).expect("peer id"), node: k.address(), address: None };
    let members = [member(&a), member(&b)];
    let any: libp2p::Multiaddr = "/ip4/127.0.0.1/tcp/0".parse().expect("addr");

    let mut na = Network::start(a.secret_bytes(), any.clone(), &members, 1 << 20).expect("a starts");
    assert_eq!(na.local_peer_id, pa, "the peer id follows from the node key in genesis");
    let addr_a = listening(&mut na).await;
    let mut nb = Network::start(b.secret_bytes(), any.clone(), &members, 1 << 20).expect("b starts");
    // The outsider would happily talk to a; a must not let it.
    let no = Network::start(outsider.secret_bytes(), any, &[member(&a), member(&outsider)], 1 << 20)
        .expect("outsider starts");

    nb.command(NetworkCommand::Dial(addr_a.clone())).await;
    next_matching(&mut na, "b connects", |e| matches!(e, NetworkEvent::PeerConnected(p) if *p == pb)).await;
    next_matching(&mut nb, "a connects", |e| matches!(e, NetworkEvent::PeerConnected(p) if *p == pa)).await;
    nb.command(NetworkCommand::Send { to: pa, bytes: b"prepare".to_vec() }).await;
    let got = next_matching(&mut na, "b's message", |e| matches!(e, NetworkEvent::Consensus { .. })).await;
    assert!(matches!(got, NetworkEvent::Consensus { from, bytes } if from == pb && bytes == b"prepare"));

    // Transactions gossip to members, and block sync answers round-trip.
    nb.command(NetworkCommand::GossipTransactions(vec![b"tx1".to_vec(), vec![7; 300_000]])).await;
    let got = next_matching(&mut na, "b's gossip", |e| matches!(e, NetworkEvent::Transactions { .. })).await;
    assert!(
        matches!(got, NetworkEvent::Transactions { from, txs } if from == pb && txs.len() == 2 && txs[1].len() == 300_000)
    );
    let sb = nb.sender();
    let ask = tokio::spawn(async move { sb.sync_request(pa, SyncRequest::Status).await });
    match next_matching(&mut na, "b's sync request", |e| matches!(e, NetworkEvent::SyncRequest { .. })).await {
        NetworkEvent::SyncRequest { from, request, channel } => {
            assert_eq!((from, request), (pb, SyncRequest::Status));
            na.command(NetworkCommand::SyncRespond {
                channel,
                response: SyncResponse::Status { height: 42, hash: [1; 32], engine: [2; 32] },
            })
            .await;
        }
        _ => unreachable!(),
    }
    assert_eq!(ask.await.expect("join"), Ok(SyncResponse::Status { height: 42, hash: [1; 32], engine: [2; 32] }));

    // The outsider is refused at connection time...
    no.command(NetworkCommand::Dial(addr_a.clone())).await;
    next_matching(&mut na, "outsider refused", |e| matches!(e, NetworkEvent::PeerRefused { .. })).await;
    // ...and what it tries to send never arrives.
    no.command(NetworkCommand::Send { to: pa, bytes: b"forged commit".to_vec() }).await;
    let injected = tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match na.events.recv().await {
                Some(NetworkEvent::Consensus { from, .. }) if from == po => return true,
                Some(NetworkEvent::PeerConnected(p)) if p == po => return true,
                Some(_) => continue,
                None => return false,
            }
        }
    })
    .await
    .unwrap_or(false);
    assert!(!injected, "an outsider's connection or message got through");

    // Governance removes b: its connection is closed, and it cannot come back.
    na.command(NetworkCommand::Disallow(b.address())).await;
    next_matching(&mut na, "b disconnected", |e| matches!(e, NetworkEvent::PeerDisconnected(p) if *p == pb)).await;
    nb.command(NetworkCommand::Dial(addr_a.clone())).await;
    next_matching(&mut na, "b refused", |e| matches!(e, NetworkEvent::PeerRefused { .. })).await;

    // Governance adds the former outsider: admitted by its node address alone (what a proposal names).
    na.command(NetworkCommand::Allow(outsider.address())).await;
    no.command(NetworkCommand::Dial(addr_a.clone())).await;
    next_matching(&mut na, "outsider admitted", |e| matches!(e, NetworkEvent::PeerConnected(p) if *p == po)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_member_is_disconnected_not_redialled_and_admitted_again_after_the_ban() {
    let (a, b) = (KeyPair::generate(), KeyPair::generate());
    let pa = peer_id_of(&a.public_key()).expect("peer id");
    let pb = peer_id_of(&b.public_key()).expect("peer id");
    let any: libp2p::Multiaddr = "/ip4/127.0.0.1/tcp/0".parse().expect("addr");
    let mut nb = Network::start(
        b.secret_bytes(),
        any.clone(),
        &[Member { peer: pa, node: a.address(), address: None }, Member { peer: pb, node: b.address(), address: None }],
        1 << 20,
    )
    .expect("b starts");
    let addr_b = listening(&mut nb).await;
    // a dials b by itself (and re-dials it every 2 s while it is not connected).
    let members = [
        Member { peer: pa, node: a.address(), address: None },
        Member { peer: pb, node: b.address(), address: Some(addr_b) },
    ];
    let mut na = Network::start(a.secret_bytes(), any, &members, 1 << 20).expect("a starts");
    next_matching(&mut na, "b connects", |e| matches!(e, NetworkEvent::PeerConnected(p) if *p == pb)).await;

    na.command(NetworkCommand::Ban { peer: pb, duration: Duration::from_secs(5) }).await;
    next_matching(&mut na, "b disconnected", |e| matches!(e, NetworkEvent::PeerDisconnected(p) if *p == pb)).await;
    let banned_at = tokio::time::Instant::now();
    // Not re-dialled while banned (an unbanned lost member is re-dialled within 2 s).
    let back = next_matching(&mut na, "b admitted again", |e| matches!(e, NetworkEvent::PeerConnected(p) if *p == pb));
    back.await;
    assert!(banned_at.elapsed() >= Duration::from_secs(4), "b came back during its ban: {:?}", banned_at.elapsed());
}
