//! Domain types to wire documents. Every document Cairn serves is built here.

use activitypub_federation::protocol::public_key::PublicKey;
use cairn_core::model::{CommentView, Community, Person, PostView};
use cairn_core::site::Site;
use cairn_core::{Urls, markdown};
use url::Url;

use crate::error::{FederationError, FederationResult};
use crate::protocol::actors::{
    Group, GroupType, Instance, InstanceType, Person as PersonDoc, PersonType,
};
use crate::protocol::collections::{Announce, AnnounceType, CreateOrUpdate, CreateOrUpdateType};
use crate::protocol::objects::{
    Attachment, Note, NoteType, Page, PageType, Tag, Tombstone, TombstoneType,
};
use crate::protocol::{Endpoints, PUBLIC, Source};

/// Longest excerpt put in a Page's `summary`.
pub const SUMMARY_CHARS: usize = 500;

/// Parses a stored URL.
pub fn url(raw: &str) -> FederationResult<Url> {
    Url::parse(raw)
        .map_err(|e| FederationError::Internal(format!("stored URL `{raw}` is invalid: {e}")))
}

fn public() -> FederationResult<Url> {
    url(PUBLIC)
}

fn public_key(actor: &Url, pem: &str) -> PublicKey {
    PublicKey {
        id: format!("{actor}#main-key"),
        owner: actor.clone(),
        public_key_pem: pem.to_owned(),
    }
}

/// `host[:port]` of an actor id, for `@name@host` handles.
pub fn handle_host(ap_id: &Url) -> String {
    match (ap_id.host_str(), ap_id.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

/// A community as a Group actor.
pub fn group(c: &Community, urls: &Urls) -> FederationResult<Group> {
    let id = url(&c.ap_id)?;
    Ok(Group {
        kind: GroupType::Group,
        preferred_username: c.name.clone(),
        name: Some(c.title.clone()),
        description: c
            .description_md
            .as_deref()
            .map(|md| markdown::plain_excerpt(md, 300)),
        summary: c.description_html.clone(),
        source: c.description_md.as_deref().map(Source::markdown),
        media_type: Some("text/html".into()),
        icon: None,
        image: None,
        sensitive: Some(false),
        inbox: url(&c.inbox_url)?,
        outbox: url(&urls.community_part(&c.name, "outbox"))?,
        followers: Some(url(&urls.community_part(&c.name, "followers"))?),
        featured: Some(url(&urls.community_part(&c.name, "featured"))?),
        attributed_to: Some(url(&urls.community_part(&c.name, "moderators"))?),
        posting_restricted_to_mods: Some(c.posting_restricted_to_mods),
        manually_approves_followers: Some(c.membership != cairn_core::model::MembershipMode::Open),
        discoverable: Some(true),
        endpoints: Some(Endpoints {
            shared_inbox: url(&urls.shared_inbox())?,
        }),
        public_key: public_key(&id, &c.public_key),
        language: vec![],
        published: Some(c.published),
        updated: c.updated,
        community_kind: Some(c.kind.as_str().to_owned()),
        membership_mode: Some(c.membership.as_str().to_owned()),
        id,
    })
}

/// A local person as a Person actor.
pub fn person(p: &Person, urls: &Urls) -> FederationResult<PersonDoc> {
    let id = url(&p.ap_id)?;
    Ok(PersonDoc {
        kind: if p.bot {
            PersonType::Service
        } else {
            PersonType::Person
        },
        preferred_username: p.name.clone(),
        name: p.display_name.clone(),
        summary: p.bio_html.clone(),
        source: p.bio_md.as_deref().map(Source::markdown),
        icon: None,
        image: None,
        inbox: url(&p.inbox_url)?,
        outbox: Some(url(&urls.person_outbox(&p.name))?),
        endpoints: Some(Endpoints {
            shared_inbox: url(&urls.shared_inbox())?,
        }),
        public_key: public_key(&id, &p.public_key),
        discoverable: Some(true),
        published: Some(p.published),
        updated: p.updated,
        id,
    })
}

/// The instance as an Application actor.
pub fn instance(site: &Site, urls: &Urls, domain: &str) -> FederationResult<Instance> {
    let id = url(&urls.instance())?;
    Ok(Instance {
        kind: InstanceType::Application,
        name: Some(site.name.clone()),
        preferred_username: Some(domain.to_owned()),
        description: site.description.clone(),
        content: None,
        media_type: None,
        source: None,
        inbox: url(&urls.shared_inbox())?,
        outbox: Some(url(&format!("{}/site_outbox", urls.base()))?),
        endpoints: Some(Endpoints {
            shared_inbox: url(&urls.shared_inbox())?,
        }),
        public_key: public_key(&id, &site.public_key),
        language: vec![],
        published: Some(site.published),
        id,
    })
}

/// A post as a Page.
pub fn page(v: &PostView) -> FederationResult<Page> {
    let id = url(&v.post.ap_id)?;
    let community = url(&v.community.ap_id)?;
    let summary = v
        .post
        .body_md
        .as_deref()
        .map(|md| markdown::plain_excerpt(md, SUMMARY_CHARS))
        .filter(|s| !s.is_empty())
        .map(|s| format!("<p>{}</p>", markdown::escape_html(&s)));
    let attachment = match &v.post.url {
        Some(link) => vec![Attachment {
            kind: "Link".into(),
            href: Some(url(link)?),
            url: None,
            media_type: Some("text/html".into()),
            name: None,
        }],
        None => vec![],
    };
    Ok(Page {
        kind: PageType::Page,
        attributed_to: vec![(url(&v.creator.ap_id)?, None)],
        to: vec![community.clone(), public()?],
        cc: vec![],
        audience: Some(community.clone()),
        name: Some(v.post.title.clone()),
        content: v.post.body_html.clone(),
        media_type: Some("text/html".into()),
        source: v.post.body_md.as_deref().map(Source::markdown),
        summary,
        url: Some(id.clone()),
        attachment,
        image: None,
        sensitive: Some(false),
        language: None,
        tag: vec![Tag::mention(
            community.clone(),
            format!("@{}@{}", v.community.name, handle_host(&community)),
        )],
        in_reply_to: None,
        context: Some(url(&format!("{}/context", v.post.ap_id))?),
        published: Some(v.post.published),
        updated: v.post.updated,
        id,
    })
}

/// A comment as a Note.
pub fn note(v: &CommentView) -> FederationResult<Note> {
    let id = url(&v.comment.ap_id)?;
    let community = url(&v.community.ap_id)?;
    let mut cc = vec![];
    let mut tag = vec![];
    if let Some(parent) = &v.parent_creator {
        let parent_id = url(&parent.ap_id)?;
        tag.push(Tag::mention(
            parent_id.clone(),
            format!("@{}@{}", parent.name, handle_host(&parent_id)),
        ));
        cc.push(parent_id);
    }
    tag.push(Tag::mention(
        community.clone(),
        format!("@{}@{}", v.community.name, handle_host(&community)),
    ));
    Ok(Note {
        kind: NoteType::Note,
        attributed_to: vec![(url(&v.creator.ap_id)?, None)],
        to: vec![community.clone(), public()?],
        cc,
        audience: Some(community),
        in_reply_to: url(&v.in_reply_to)?,
        content: v.comment.body_html.clone(),
        media_type: Some("text/html".into()),
        source: Some(Source::markdown(v.comment.body_md.clone())),
        tag,
        distinguished: Some(v.comment.distinguished),
        language: None,
        context: Some(url(&format!("{}/context", v.post.ap_id))?),
        published: Some(v.comment.published),
        updated: v.comment.updated,
        id,
    })
}

/// What a deleted object answers with.
pub fn tombstone(
    ap_id: &str,
    former_type: &str,
    deleted: Option<chrono::DateTime<chrono::Utc>>,
) -> FederationResult<Tombstone> {
    Ok(Tombstone {
        kind: TombstoneType::Tombstone,
        id: url(ap_id)?,
        former_type: Some(former_type.to_owned()),
        deleted,
    })
}

/// The outbox entry of a post: the group's Announce of the author's Create(Page), the form
/// Lemmy reads when it backfills a community.
pub fn announce_create_page(
    v: &PostView,
    urls: &Urls,
) -> FederationResult<Announce<CreateOrUpdate<Page>>> {
    let page = page(v)?;
    let community = url(&v.community.ap_id)?;
    let followers = url(&urls.community_part(&v.community.name, "followers"))?;
    let create = CreateOrUpdate {
        kind: CreateOrUpdateType::Create,
        id: url(&format!(
            "{}/activities/create/post-{}",
            urls.base(),
            v.post.id
        ))?,
        actor: url(&v.creator.ap_id)?,
        to: vec![community.clone(), public()?],
        cc: vec![community.clone()],
        audience: Some(community.clone()),
        object: page,
    };
    Ok(Announce {
        kind: AnnounceType::Announce,
        id: url(&format!(
            "{}/activities/announce/create/post-{}",
            urls.base(),
            v.post.id
        ))?,
        actor: community,
        to: vec![public()?],
        cc: vec![followers],
        object: create,
    })
}
