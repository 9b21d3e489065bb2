use crate::MemoryStore;
use orderflow_core::domain::{Email, PasswordHash, Role, User, UserId};
use orderflow_core::ports::{UserRepo, UserRepoError};

#[async_trait::async_trait]
impl UserRepo for MemoryStore {
    async fn insert(&self, user: &User) -> Result<(), UserRepoError> {
        let mut users = self.inner.users.write();
        if users.by_email.contains_key(&user.email) {
            return Err(UserRepoError::DuplicateEmail);
        }
        users.by_email.insert(user.email.clone(), user.id);
        users.by_id.insert(user.id, user.clone());
        Ok(())
    }

    async fn by_email(&self, email: &Email) -> Result<Option<User>, UserRepoError> {
        let users = self.inner.users.read();
        Ok(users
            .by_email
            .get(email)
            .and_then(|id| users.by_id.get(id))
            .cloned())
    }

    async fn by_id(&self, id: UserId) -> Result<Option<User>, UserRepoError> {
        Ok(self.inner.users.read().by_id.get(&id).cloned())
    }

    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<bool, UserRepoError> {
        Ok(match self.inner.users.write().by_id.get_mut(&id) {
            Some(u) => {
                u.password_hash = hash.clone();
                true
            }
            None => false,
        })
    }

    async fn set_role(&self, id: UserId, role: Role) -> Result<bool, UserRepoError> {
        Ok(match self.inner.users.write().by_id.get_mut(&id) {
            Some(u) => {
                u.role = role;
                true
            }
            None => false,
        })
    }
}
