use crate::docs::UserDoc;
use crate::errors::is_duplicate;
use crate::MongoStore;
use mongodb::bson::doc;
use orderflow_core::domain::{Email, PasswordHash, Role, User, UserId};
use orderflow_core::ports::{UserRepo, UserRepoError};

fn unavailable(e: impl Into<orderflow_core::BoxError>) -> UserRepoError {
    UserRepoError::Unavailable(e.into())
}

#[async_trait::async_trait]
impl UserRepo for MongoStore {
    async fn insert(&self, user: &User) -> Result<(), UserRepoError> {
        match tokio::time::timeout(self.op_timeout, self.users.insert_one(UserDoc::from(user)))
            .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) if is_duplicate(&e) => Err(UserRepoError::DuplicateEmail),
            Ok(Err(e)) => Err(unavailable(e)),
            Err(_) => Err(unavailable("mongodb insert timed out")),
        }
    }

    async fn by_email(&self, email: &Email) -> Result<Option<User>, UserRepoError> {
        let doc = self
            .bounded(self.users.find_one(doc! {"email": email.as_str()}))
            .await
            .map_err(unavailable)?;
        doc.map(User::try_from).transpose().map_err(unavailable)
    }

    async fn by_id(&self, id: UserId) -> Result<Option<User>, UserRepoError> {
        let doc = self
            .bounded(self.users.find_one(doc! {"_id": id.to_string()}))
            .await
            .map_err(unavailable)?;
        doc.map(User::try_from).transpose().map_err(unavailable)
    }

    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<bool, UserRepoError> {
        let r = self
            .bounded(self.users.update_one(
                doc! {"_id": id.to_string()},
                doc! {"$set": {"password_hash": &hash.0}},
            ))
            .await
            .map_err(unavailable)?;
        Ok(r.matched_count == 1)
    }

    async fn set_role(&self, id: UserId, role: Role) -> Result<bool, UserRepoError> {
        let r = self
            .bounded(self.users.update_one(
                doc! {"_id": id.to_string()},
                doc! {"$set": {"role": role.as_str()}},
            ))
            .await
            .map_err(unavailable)?;
        Ok(r.matched_count == 1)
    }
}
