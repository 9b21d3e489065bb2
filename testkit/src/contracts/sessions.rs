//! `SessionRepo` contract.

use super::fixtures::now;
use orderflow_core::domain::{RefreshTokenHash, Session, SessionFamilyId, UserId};
use orderflow_core::ports::{Rotation, SessionRepo};
use std::sync::Arc;

fn h(s: &str) -> RefreshTokenHash {
    RefreshTokenHash(format!("{s}-{}", uuid::Uuid::new_v4()))
}

fn session(current: &RefreshTokenHash, ttl_secs: i64) -> Session {
    Session {
        family: SessionFamilyId::new(),
        user_id: UserId::new(),
        current: current.clone(),
        previous: vec![],
        created_at: now(),
        expires_at: now() + chrono::Duration::seconds(ttl_secs),
        revoked: false,
    }
}

pub async fn rotation_replaces_the_current_token(repo: Arc<dyn SessionRepo>) {
    let (t1, t2, t3) = (h("t1"), h("t2"), h("t3"));
    let s = session(&t1, 60);
    repo.create(&s).await.unwrap();
    assert_eq!(
        repo.rotate(&t1, &t2, now()).await.unwrap(),
        Rotation::Rotated {
            user_id: s.user_id,
            family: s.family
        }
    );
    assert_eq!(
        repo.rotate(&t2, &t3, now()).await.unwrap(),
        Rotation::Rotated {
            user_id: s.user_id,
            family: s.family
        }
    );
}

pub async fn reuse_revokes_the_whole_family(repo: Arc<dyn SessionRepo>) {
    let (t1, t2, t3, t4) = (h("t1"), h("t2"), h("t3"), h("t4"));
    let s = session(&t1, 60);
    repo.create(&s).await.unwrap();
    assert!(matches!(
        repo.rotate(&t1, &t2, now()).await.unwrap(),
        Rotation::Rotated { .. }
    ));
    assert_eq!(
        repo.rotate(&t1, &t3, now()).await.unwrap(),
        Rotation::Reused { family: s.family }
    );
    assert_eq!(
        repo.rotate(&t2, &t4, now()).await.unwrap(),
        Rotation::Invalid,
        "the legitimate token died too"
    );
}

pub async fn concurrent_rotations_have_one_winner(repo: Arc<dyn SessionRepo>) {
    let t1 = h("t1");
    repo.create(&session(&t1, 60)).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (repo, t1) = (repo.clone(), t1.clone());
            tokio::spawn(
                async move { repo.rotate(&t1, &h(&format!("n{i}")), now()).await.unwrap() },
            )
        })
        .collect();
    let mut rotated = 0;
    for t in tasks {
        match t.await.unwrap() {
            Rotation::Rotated { .. } => rotated += 1,
            Rotation::Reused { .. } | Rotation::Invalid => {}
        }
    }
    assert_eq!(rotated, 1);
}

pub async fn expired_and_unknown_tokens_are_invalid(repo: Arc<dyn SessionRepo>) {
    let t1 = h("t1");
    repo.create(&session(&t1, -1)).await.unwrap();
    assert_eq!(
        repo.rotate(&t1, &h("t2"), now()).await.unwrap(),
        Rotation::Invalid
    );
    assert_eq!(
        repo.rotate(&h("never"), &h("t3"), now()).await.unwrap(),
        Rotation::Invalid
    );
}

pub async fn revoke_ends_the_family(repo: Arc<dyn SessionRepo>) {
    let (t1, t2) = (h("t1"), h("t2"));
    repo.create(&session(&t1, 60)).await.unwrap();
    assert!(repo.revoke(&t1).await.unwrap());
    assert!(repo.revoke(&t1).await.unwrap(), "idempotent");
    assert_eq!(
        repo.rotate(&t1, &t2, now()).await.unwrap(),
        Rotation::Invalid
    );
    assert!(!repo.revoke(&h("unknown")).await.unwrap());
}

#[macro_export]
macro_rules! session_repo_contract {
    ($factory:expr) => {
        mod session_repo_contract {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn rotation_replaces_the_current_token() {
                let Some(adapter) = $factory.await else {
                    return;
                };
                $crate::contracts::sessions::rotation_replaces_the_current_token(adapter).await
            }
            #[tokio::test]
            async fn reuse_revokes_the_whole_family() {
                let Some(adapter) = $factory.await else {
                    return;
                };
                $crate::contracts::sessions::reuse_revokes_the_whole_family(adapter).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn concurrent_rotations_have_one_winner() {
                let Some(adapter) = $factory.await else {
                    return;
                };
                $crate::contracts::sessions::concurrent_rotations_have_one_winner(adapter).await
            }
            #[tokio::test]
            async fn expired_and_unknown_tokens_are_invalid() {
                let Some(adapter) = $factory.await else {
                    return;
                };
                $crate::contracts::sessions::expired_and_unknown_tokens_are_invalid(adapter).await
            }
            #[tokio::test]
            async fn revoke_ends_the_family() {
                let Some(adapter) = $factory.await else {
                    return;
                };
                $crate::contracts::sessions::revoke_ends_the_family(adapter).await
            }
        }
    };
}
