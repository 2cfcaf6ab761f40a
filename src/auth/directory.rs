//! The login of a `directoryServices` user: the directory's answer, taken
//! as it is. An unreachable directory is `Unavailable`, never a yes.

use super::{LoginError, Refusal};
use crate::archive::UserRecord;
use crate::directory::{Directory, Verdict};

pub async fn verify(
    directory: Option<&Directory>,
    user: UserRecord,
    password: &str,
) -> Result<UserRecord, Refusal> {
    let Some(directory) = directory else {
        return Err((
            LoginError::Failed,
            format!(
                "user {} signs in through directory services, which are not configured",
                user.name
            ),
        ));
    };
    match directory.verify(&user.name, password).await {
        Ok(Verdict::Accepted) => Ok(user),
        Ok(Verdict::Refused(reason)) => Err((LoginError::Failed, reason)),
        Err(e) => Err((
            LoginError::Unavailable,
            format!("the directory could not check the password: {e}"),
        )),
    }
}
