//! `UserRepo` contract.

use super::fixtures::user;
use orderflow_core::ports::{UserRepo, UserRepoError};
use std::sync::Arc;

pub async fn insert_then_find_by_email_and_id(repo: Arc<dyn UserRepo>) {
    let u = user("Find.Me@example.com");
    repo.insert(&u).await.unwrap();
    let by_email = repo
        .by_email(&u.email)
        .await
        .unwrap()
        .expect("found by email");
    assert_eq!(by_email.id, u.id);
    assert_eq!(by_email.email.as_str(), "find.me@example.com");
    assert_eq!(by_email.password_hash, u.password_hash);
    let by_id = repo.by_id(u.id).await.unwrap().expect("found by id");
    assert_eq!(by_id.email, u.email);
}

pub async fn missing_users_are_none(repo: Arc<dyn UserRepo>) {
    assert!(repo
        .by_email(&user("nobody@example.com").email)
        .await
        .unwrap()
        .is_none());
    assert!(repo
        .by_id(orderflow_core::domain::UserId::new())
        .await
        .unwrap()
        .is_none());
}

pub async fn duplicate_email_is_refused_even_under_races(repo: Arc<dyn UserRepo>) {
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let repo = repo.clone();
            tokio::spawn(async move { repo.insert(&user("race@example.com")).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(UserRepoError::DuplicateEmail) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one insert wins");
}

/// A password or role change touches that one field of that one user.
pub async fn password_and_role_change_one_field(repo: Arc<dyn UserRepo>) {
    use orderflow_core::domain::{PasswordHash, Role, UserId};
    let u = user("change.me@example.com");
    let bystander = user("bystander@example.com");
    repo.insert(&u).await.unwrap();
    repo.insert(&bystander).await.unwrap();
    let new_hash = PasswordHash("$argon2id$v=19$m=256,t=1,p=1$bmV3$bmV3aGFzaA".into());
    assert!(repo.set_password(u.id, &new_hash).await.unwrap());
    let changed = repo.by_id(u.id).await.unwrap().expect("still there");
    assert_eq!(changed.password_hash, new_hash);
    assert_eq!((changed.email, changed.role), (u.email.clone(), u.role));
    assert!(repo.set_role(u.id, Role::Admin).await.unwrap());
    let changed = repo.by_email(&u.email).await.unwrap().expect("still there");
    assert_eq!(changed.role, Role::Admin);
    assert_eq!(changed.password_hash, new_hash);
    let untouched = repo.by_id(bystander.id).await.unwrap().expect("there");
    assert_eq!(
        (untouched.role, untouched.password_hash),
        (bystander.role, bystander.password_hash)
    );
    assert!(!repo.set_role(UserId::new(), Role::Admin).await.unwrap());
    assert!(!repo.set_password(UserId::new(), &new_hash).await.unwrap());
}

#[macro_export]
macro_rules! user_repo_contract {
    ($factory:expr) => {
        mod user_repo_contract {
            #[allow(unused_imports)]
            use super::*;
            $crate::contract_tests!(users, $factory;
            #[tokio::test]
            insert_then_find_by_email_and_id,
            #[tokio::test]
            missing_users_are_none,
            #[tokio::test]
            password_and_role_change_one_field,
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            duplicate_email_is_refused_even_under_races,
            );
        }
    };
}
