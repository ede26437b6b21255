//! The codes of the inbox's verdicts. They are part of Cairn's interface (the inbox answers
//! with them, `cairn inspect` prints them, the metrics count them), so a code is never renamed
//! or reused for another meaning.

/// Why an activity was refused or ignored, or that it was applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    // Refusals that need no lookup, answered with 400 in the request.
    /// The body is not an activity: not JSON, or without a usable `id`, `actor` or `type`.
    MalformedActivity,
    /// An id or URL is not acceptable (a scheme other than https, an explicit port in
    /// production).
    InvalidUrl,
    /// A list of addressees, tags or items is longer than any real activity needs.
    TooLong,
    /// The actor, at any depth, is on this server: only this server speaks for its actors.
    LocalActor,
    /// The activity's id, at any depth, is on this server, and it is not one we sent.
    LocalId,
    /// The activity creates, changes or deletes an object that is stored under an id of ours.
    LocalObject,
    /// The activity's id is not on its actor's server.
    ForeignActivity,
    /// A created or updated object is not on its author's server.
    ForeignObject,
    /// The object's author is not the activity's actor.
    AuthorMismatch,
    /// The object is not addressed to the public.
    NotPublic,
    /// A Create or Update names its object by id instead of embedding it.
    ObjectNotEmbedded,
    /// An Undo withdraws someone else's activity.
    UndoNotOwn,
    /// A Follow is answered by someone other than the followee.
    AnswerNotFromFollowee,
    /// An Announce carries another Announce.
    NestedAnnounce,

    // Refusals that need the stored facts.
    /// An Announce vouches for something outside the announcing community.
    ForeignAnnounce,
    /// An actor is updated by someone other than itself, its server or its own Announce.
    ForeignUpdate,
    /// The activity's `audience` is not the community it concerns.
    AudienceMismatch,
    /// Someone other than the author edits or deletes a post or comment.
    NotAuthor,
    /// A reply to a locked post by someone who is not a moderator.
    PostLocked,

    // Acknowledged and ignored.
    /// Received and handled before.
    Duplicate,
    /// One of this server's own activities, coming back inside an Announce.
    OwnActivity,
    /// A type of activity Cairn does not use.
    UnsupportedActivity,
    /// An Announce from a community nobody here follows and that holds nothing of ours.
    UnsolicitedAnnounce,
    /// An Announce of a bare object (the compatibility boost that accompanies an
    /// Announce(Create)), or a person's boost.
    AnnouncedObject,
    /// Content that addresses no community of this server.
    NoCommunity,
    /// Something a followed person wrote to their followers; Cairn keeps no personal timeline.
    FollowedPerson,
    /// A Follow or Undo(Follow) of something that is neither a community nor a person here.
    FolloweeNotFound,
    /// An Undo, Accept or Reject of a Follow this server does not know.
    UnknownFollow,
    /// A vote, Delete or Undo about a post or comment that is not here.
    UnknownObject,
    /// An Update of an actor this server does not store.
    NotStored,
    /// A vote on a post or comment that was deleted or removed.
    ObjectGone,
    /// An Undo of a vote that is not stored (yet): the Undo may have overtaken its Like.
    VoteUnknown,

    /// Applied.
    Applied,

    // Failures of applying.
    /// Another server could not be reached, or this one failed; the activity is tried again.
    RemoteFailure,
    /// A rule of the domain refused the change (for example `members_only`), with core's code.
    Core(&'static str),
}

impl Code {
    /// The code as the inbox, `inspect` and the metrics write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::MalformedActivity => "malformed_activity",
            Code::InvalidUrl => "invalid_url",
            Code::TooLong => "too_long",
            Code::LocalActor => "local_actor",
            Code::LocalId => "local_id",
            Code::LocalObject => "local_object",
            Code::ForeignActivity => "foreign_activity",
            Code::ForeignObject => "foreign_object",
            Code::AuthorMismatch => "author_mismatch",
            Code::NotPublic => "not_public",
            Code::ObjectNotEmbedded => "object_not_embedded",
            Code::UndoNotOwn => "undo_not_own",
            Code::AnswerNotFromFollowee => "answer_not_from_followee",
            Code::NestedAnnounce => "nested_announce",
            Code::ForeignAnnounce => "foreign_announce",
            Code::ForeignUpdate => "foreign_update",
            Code::AudienceMismatch => "audience_mismatch",
            Code::NotAuthor => "not_author",
            Code::PostLocked => "post_locked",
            Code::Duplicate => "duplicate",
            Code::OwnActivity => "own_activity",
            Code::UnsupportedActivity => "unsupported_activity",
            Code::UnsolicitedAnnounce => "unsolicited_announce",
            Code::AnnouncedObject => "announced_object",
            Code::NoCommunity => "no_community",
            Code::FollowedPerson => "followed_person",
            Code::FolloweeNotFound => "followee_not_found",
            Code::UnknownFollow => "unknown_follow",
            Code::UnknownObject => "unknown_object",
            Code::NotStored => "not_stored",
            Code::ObjectGone => "object_gone",
            Code::VoteUnknown => "vote_unknown",
            Code::Applied => "applied",
            Code::RemoteFailure => "remote_failure",
            Code::Core(code) => code,
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
