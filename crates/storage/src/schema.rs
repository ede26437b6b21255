//! The diesel schema, shared by both backends.
//!
//! It is written by hand rather than printed by `diesel print-schema` because one schema serves
//! SQLite and PostgreSQL: every column uses a type both backends store the same way
//! (BigInt, Integer, Text, Bool, Double, Timestamp).

diesel::table! {
    site (id) {
        id -> BigInt,
        name -> Text,
        public_key -> Text,
        private_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    persons (id) {
        id -> BigInt,
        name -> Text,
        display_name -> Nullable<Text>,
        bio_md -> Nullable<Text>,
        bio_html -> Nullable<Text>,
        ap_id -> Text,
        inbox_url -> Text,
        shared_inbox_url -> Nullable<Text>,
        public_key -> Text,
        private_key -> Nullable<Text>,
        local -> Bool,
        bot -> Bool,
        deleted -> Bool,
        published -> Timestamp,
        updated -> Nullable<Timestamp>,
        last_refreshed_at -> Timestamp,
    }
}

diesel::table! {
    local_users (person_id) {
        person_id -> BigInt,
        password_hash -> Text,
        email -> Nullable<Text>,
        is_admin -> Bool,
        approved -> Bool,
        registration_answer -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        person_id -> BigInt,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    communities (id) {
        id -> BigInt,
        name -> Text,
        title -> Text,
        description_md -> Nullable<Text>,
        description_html -> Nullable<Text>,
        kind -> Text,
        membership -> Text,
        ap_id -> Text,
        inbox_url -> Text,
        shared_inbox_url -> Nullable<Text>,
        followers_url -> Nullable<Text>,
        public_key -> Text,
        private_key -> Nullable<Text>,
        local -> Bool,
        posting_restricted_to_mods -> Bool,
        deleted -> Bool,
        published -> Timestamp,
        updated -> Nullable<Timestamp>,
        last_refreshed_at -> Timestamp,
    }
}

diesel::table! {
    community_members (community_id, person_id) {
        community_id -> BigInt,
        person_id -> BigInt,
        role -> Text,
        state -> Text,
        follow_activity_id -> Nullable<Text>,
        invited_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    posts (id) {
        id -> BigInt,
        ap_id -> Text,
        community_id -> BigInt,
        creator_id -> BigInt,
        title -> Text,
        url -> Nullable<Text>,
        body_md -> Nullable<Text>,
        body_html -> Nullable<Text>,
        post_kind -> Text,
        local -> Bool,
        score -> BigInt,
        upvotes -> BigInt,
        downvotes -> BigInt,
        comment_count -> BigInt,
        hot_rank -> Double,
        locked -> Bool,
        featured -> Bool,
        deleted -> Bool,
        removed -> Bool,
        accepted_comment_id -> Nullable<BigInt>,
        published -> Timestamp,
        updated -> Nullable<Timestamp>,
        last_activity_at -> Timestamp,
    }
}

diesel::table! {
    comments (id) {
        id -> BigInt,
        ap_id -> Text,
        post_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        creator_id -> BigInt,
        body_md -> Text,
        body_html -> Text,
        path -> Text,
        depth -> Integer,
        local -> Bool,
        score -> BigInt,
        upvotes -> BigInt,
        downvotes -> BigInt,
        child_count -> BigInt,
        distinguished -> Bool,
        deleted -> Bool,
        removed -> Bool,
        published -> Timestamp,
        updated -> Nullable<Timestamp>,
    }
}

diesel::table! {
    post_votes (post_id, person_id) {
        post_id -> BigInt,
        person_id -> BigInt,
        score -> Integer,
        activity_id -> Nullable<Text>,
        published -> Timestamp,
    }
}

diesel::table! {
    comment_votes (comment_id, person_id) {
        comment_id -> BigInt,
        person_id -> BigInt,
        post_id -> BigInt,
        score -> Integer,
        activity_id -> Nullable<Text>,
        published -> Timestamp,
    }
}

diesel::joinable!(local_users -> persons (person_id));
diesel::joinable!(sessions -> persons (person_id));
diesel::joinable!(community_members -> communities (community_id));
diesel::joinable!(posts -> communities (community_id));
diesel::joinable!(posts -> persons (creator_id));
diesel::joinable!(comments -> posts (post_id));
diesel::joinable!(comments -> persons (creator_id));
diesel::joinable!(post_votes -> posts (post_id));
diesel::joinable!(comment_votes -> comments (comment_id));

diesel::allow_tables_to_appear_in_same_query!(
    site,
    persons,
    local_users,
    sessions,
    communities,
    community_members,
    posts,
    comments,
    post_votes,
    comment_votes,
);

diesel::table! {
    outbox_events (id) {
        id -> BigInt,
        kind -> Text,
        actor_id -> BigInt,
        community_id -> Nullable<BigInt>,
        post_id -> Nullable<BigInt>,
        comment_id -> Nullable<BigInt>,
        target_person_id -> Nullable<BigInt>,
        score -> Nullable<Integer>,
        previous_score -> Nullable<Integer>,
        object_ap_id -> Nullable<Text>,
        created_at -> Timestamp,
        processed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    activities (id) {
        id -> BigInt,
        ap_id -> Text,
        kind -> Text,
        actor_ap_id -> Text,
        data -> Text,
        local -> Bool,
        sensitive -> Bool,
        published -> Timestamp,
    }
}

diesel::table! {
    deliveries (id) {
        id -> BigInt,
        activity_id -> BigInt,
        inbox_url -> Text,
        host -> Text,
        signer_ap_id -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    instances (host) {
        host -> Text,
        software -> Nullable<Text>,
        version -> Nullable<Text>,
        consecutive_failures -> Integer,
        last_success_at -> Nullable<Timestamp>,
        last_failure_at -> Nullable<Timestamp>,
        dead_since -> Nullable<Timestamp>,
        nodeinfo_fetched_at -> Nullable<Timestamp>,
        blocked -> Bool,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(deliveries -> activities (activity_id));
diesel::allow_tables_to_appear_in_same_query!(outbox_events, activities, deliveries, instances);

diesel::table! {
    person_follows (follower_id, followee_id) {
        follower_id -> BigInt,
        followee_id -> BigInt,
        state -> Text,
        follow_activity_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(person_follows, persons);

diesel::table! {
    inbound_activities (id) {
        id -> BigInt,
        ap_id -> Text,
        actor_ap_id -> Text,
        host -> Text,
        kind -> Text,
        object_key -> Text,
        data -> Text,
        state -> Text,
        code -> Nullable<Text>,
        message -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        leased_until -> Nullable<Timestamp>,
        received_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    remote_moderators (community_id, actor_ap_id) {
        community_id -> BigInt,
        actor_ap_id -> Text,
    }
}

diesel::joinable!(remote_moderators -> communities (community_id));
diesel::allow_tables_to_appear_in_same_query!(remote_moderators, communities);
