//! Accounts: registration, sign-in, profiles and registration approval; the sessions that
//! sign-in opens are in [`crate::sessions`].

use cairn_storage::persons::{LocalUserRow, NewPerson, PersonProfileChange, PersonRow};
use cairn_storage::{AnyConn, db_now};

use crate::context::Cairn;
use crate::crypto;
use crate::error::{CoreError, CoreResult};
use crate::markdown;
use crate::model::{Account, AuthUser, Person};
use crate::sessions;
use crate::settings::RegistrationMode;
use crate::validate;

/// What a sign-up form sends.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    /// Why the person wants to join; shown to administrators under approval mode.
    pub answer: Option<String>,
}

/// Who creates the account: the public sign-up form obeys the registration mode, the
/// administrator's command line does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Public sign-up.
    SignUp,
    /// `cairn admin create-user`; `admin` makes the account an administrator.
    Admin { admin: bool },
}

/// Creates a local account and its Person actor.
pub async fn register(ctx: &Cairn, input: Registration, origin: Origin) -> CoreResult<Account> {
    let mode = ctx.settings().registration_mode;
    if origin == Origin::SignUp && mode == RegistrationMode::Closed {
        return Err(CoreError::forbidden(
            "registrations_closed",
            "This instance does not accept new accounts; ask an administrator.",
        ));
    }
    let name = validate::username(&input.username)?;
    validate::password(&input.password)?;
    let email = input
        .email
        .as_deref()
        .filter(|e| !e.trim().is_empty())
        .map(validate::email)
        .transpose()?;
    let answer = input
        .answer
        .as_deref()
        .map(|a| validate::markdown(a, validate::MAX_DESCRIPTION_CHARS, "invalid_answer"))
        .transpose()?
        .flatten();
    let approved = !(origin == Origin::SignUp && mode == RegistrationMode::Approval);
    let is_admin = matches!(origin, Origin::Admin { admin: true });

    // Refuse taken names before the slow hashing and key generation.
    let check_name = name.clone();
    let check_email = email.clone();
    ctx.db()
        .run(move |conn| ensure_available(conn, &check_name, check_email.as_deref()))
        .await?;

    let password_hash = crypto::hash_password_async(ctx, input.password).await?;
    let keys = crypto::generate_keypair_async(ctx).await?;
    let urls = ctx.urls().clone();
    ctx.db()
        .transaction(move |conn| {
            ensure_available(conn, &name, email.as_deref())?;
            let now = db_now();
            let person = PersonRow::insert(
                conn,
                &NewPerson {
                    ap_id: urls.person(&name),
                    inbox_url: urls.person_inbox(&name),
                    shared_inbox_url: Some(urls.shared_inbox()),
                    name,
                    display_name: None,
                    bio_md: None,
                    bio_html: None,
                    public_key: keys.public_pem,
                    private_key: Some(keys.private_pem),
                    local: true,
                    bot: false,
                    published: now,
                    last_refreshed_at: now,
                },
            )?;
            let user = LocalUserRow {
                person_id: person.id,
                password_hash,
                email,
                is_admin,
                approved,
                registration_answer: answer,
                created_at: now,
            };
            LocalUserRow::insert(conn, &user)?;
            Ok(account(person, user))
        })
        .await
}

fn ensure_available(conn: &mut AnyConn<'_>, name: &str, email: Option<&str>) -> CoreResult<()> {
    if PersonRow::local_by_name(conn, name)?.is_some() {
        return Err(CoreError::conflict(
            "username_taken",
            format!("The username `{name}` is taken."),
        ));
    }
    if let Some(email) = email
        && LocalUserRow::email_taken(conn, email)?
    {
        return Err(CoreError::conflict(
            "email_taken",
            "An account with this email address exists already.",
        ));
    }
    Ok(())
}

fn account(person: PersonRow, user: LocalUserRow) -> Account {
    Account {
        person: Person::from(person),
        email: user.email,
        is_admin: user.is_admin,
        approved: user.approved,
        registration_answer: user.registration_answer,
    }
}

/// Checks a username and password and opens a session; returns the bearer token.
pub async fn login(
    ctx: &Cairn,
    username: &str,
    password: &str,
    user_agent: Option<&str>,
) -> CoreResult<(String, Account)> {
    let lookup = username.to_owned();
    let found = ctx
        .db()
        .run(move |conn| -> CoreResult<_> {
            let Some(person) = PersonRow::local_by_name(conn, &lookup)? else {
                return Ok(None);
            };
            Ok(LocalUserRow::by_person(conn, person.id)?.map(|u| (person, u)))
        })
        .await?;
    let wrong =
        || CoreError::unauthenticated("invalid_credentials", "The username or password is wrong.");
    let Some((person, user)) = found else {
        // Hash anyway so that response time does not reveal which usernames exist.
        let _ = crypto::hash_password_async(ctx, password.to_owned()).await;
        return Err(wrong());
    };
    let ok =
        crypto::verify_password_async(ctx, password.to_owned(), user.password_hash.clone()).await?;
    if !ok || person.deleted {
        return Err(wrong());
    }
    if !user.approved {
        return Err(CoreError::forbidden(
            "registration_pending",
            "An administrator has not approved this account yet.",
        ));
    }
    let token = sessions::open(ctx, person.id, user_agent).await?;
    Ok((token, account(person, user)))
}

/// The caller's own account.
pub async fn me(ctx: &Cairn, user: &AuthUser) -> CoreResult<Account> {
    let id = user.person_id;
    ctx.db()
        .run(move |conn| -> CoreResult<Account> {
            let person = PersonRow::by_id(conn, id)?
                .ok_or_else(|| CoreError::not_found("user_not_found", "No such user."))?;
            let user = LocalUserRow::by_person(conn, id)?
                .ok_or_else(|| CoreError::not_found("user_not_found", "No such user."))?;
            Ok(account(person, user))
        })
        .await
}

/// A profile change: `None` leaves a field alone, `Some("")` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileEdit {
    pub display_name: Option<String>,
    pub bio: Option<String>,
}

/// Changes the caller's display name and bio.
pub async fn update_profile(ctx: &Cairn, user: &AuthUser, edit: ProfileEdit) -> CoreResult<Person> {
    let mut change = PersonProfileChange::default();
    if let Some(name) = &edit.display_name {
        change.display_name = Some(validate::display_name(name)?);
    }
    if let Some(bio) = &edit.bio {
        let md = validate::markdown(bio, validate::MAX_DESCRIPTION_CHARS, "invalid_bio")?;
        change.bio_html = Some(md.as_deref().map(markdown::to_html));
        change.bio_md = Some(md);
    }
    change.updated = Some(Some(db_now()));
    let id = user.person_id;
    let row = ctx
        .db()
        .run(move |conn| PersonRow::update_profile(conn, id, &change))
        .await?;
    Ok(row.into())
}

/// A person, local or remote, by id.
pub async fn person_by_id(ctx: &Cairn, id: i64) -> CoreResult<Person> {
    ctx.db()
        .run(move |conn| -> CoreResult<Person> {
            PersonRow::by_id(conn, id)?
                .map(Person::from)
                .ok_or_else(|| CoreError::not_found("user_not_found", "No such user."))
        })
        .await
}

/// A local person by name.
pub async fn person_by_name(ctx: &Cairn, name: &str) -> CoreResult<Person> {
    let name = name.to_owned();
    let row = ctx
        .db()
        .run(move |conn| PersonRow::local_by_name(conn, &name))
        .await?
        .ok_or_else(|| CoreError::not_found("user_not_found", "No user has that name here."))?;
    if row.deleted {
        return Err(CoreError::gone("user_deleted", "This account was deleted."));
    }
    Ok(row.into())
}

fn require_admin(user: &AuthUser) -> CoreResult<()> {
    if user.is_admin {
        Ok(())
    } else {
        Err(CoreError::forbidden(
            "admin_only",
            "Only administrators may do this.",
        ))
    }
}

/// Accounts waiting for approval (administrators only).
pub async fn pending_registrations(ctx: &Cairn, user: &AuthUser) -> CoreResult<Vec<Account>> {
    require_admin(user)?;
    let rows = ctx.db().run(LocalUserRow::pending).await?;
    Ok(rows.into_iter().map(|(u, p)| account(p, u)).collect())
}

/// Approves or rejects (deletes) a pending account (administrators only).
pub async fn decide_registration(
    ctx: &Cairn,
    user: &AuthUser,
    username: &str,
    approve: bool,
) -> CoreResult<()> {
    require_admin(user)?;
    let name = username.to_owned();
    ctx.db()
        .transaction(move |conn| -> CoreResult<()> {
            let person = PersonRow::local_by_name(conn, &name)?.ok_or_else(|| {
                CoreError::not_found("user_not_found", "No user has that name here.")
            })?;
            let account = LocalUserRow::by_person(conn, person.id)?.ok_or_else(|| {
                CoreError::not_found("user_not_found", "No user has that name here.")
            })?;
            if account.approved {
                return Err(CoreError::conflict(
                    "already_approved",
                    "This account is approved already.",
                ));
            }
            if approve {
                LocalUserRow::approve(conn, person.id)?;
            } else {
                LocalUserRow::reject(conn, person.id)?;
            }
            Ok(())
        })
        .await
}
