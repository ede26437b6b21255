//! The JSON API under /api/v1 and its OpenAPI document.

mod accounts;
mod communities;
mod people;
mod posts;
mod sessions;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto;
use crate::error::{ApiError, ErrorBody};
use crate::state::ApiState;

/// Public facts about the instance.
#[utoipa::path(get, path = "/api/v1/site", tag = "site", responses((status = 200, body = dto::SiteDto)))]
async fn site(State(s): State<ApiState>) -> Json<dto::SiteDto> {
    let settings = s.ctx.settings();
    Json(dto::SiteDto {
        name: settings.site_name.clone(),
        description: settings.site_description.clone(),
        domain: settings.domain.clone(),
        registration_mode: settings.registration_mode.to_string(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI description of /api/v1.
#[derive(OpenApi)]
#[openapi(
    info(title = "Cairn API", description = "The JSON API of a Cairn community server.", license(name = "AGPL-3.0")),
    modifiers(&BearerAuth),
    paths(
        site,
        accounts::register, accounts::login, accounts::logout, accounts::me, accounts::update_me, accounts::get_user,
        accounts::pending_registrations, accounts::approve_registration, accounts::reject_registration,
        sessions::list_sessions, sessions::end_all_sessions, sessions::end_session, sessions::change_password,
        communities::create_community, communities::list_communities, communities::get_community,
        communities::join_community, communities::leave_community, communities::list_members,
        communities::list_join_requests, communities::approve_join_request, communities::reject_join_request,
        communities::invite, communities::list_posts, communities::follow_community, communities::unfollow_community,
        communities::list_pending_follows, communities::decide_pending_follow,
        people::follow_person, people::unfollow_person, people::following,
        posts::create_post, posts::get_post, posts::edit_post, posts::delete_post, posts::vote_post,
        posts::create_comment, posts::get_comment, posts::get_comment_thread, posts::edit_comment, posts::delete_comment, posts::vote_comment,
    ),
    components(schemas(ErrorBody))
)]
pub struct ApiDoc;

async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

async fn not_found() -> ApiError {
    ApiError::http(
        StatusCode::NOT_FOUND,
        "no_such_endpoint",
        "There is no API endpoint at this path.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::http(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "This endpoint does not answer to that method.",
    )
}

/// The /api/v1 routes.
pub fn routes(state: ApiState) -> Router {
    let api = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/site", get(site))
        .route("/accounts", post(accounts::register))
        .route("/auth/login", post(accounts::login))
        .route("/auth/logout", post(accounts::logout))
        .route("/me", get(accounts::me).patch(accounts::update_me))
        .route(
            "/me/sessions",
            get(sessions::list_sessions).delete(sessions::end_all_sessions),
        )
        .route("/me/sessions/{id}", delete(sessions::end_session))
        .route("/me/password", post(sessions::change_password))
        .route("/users/{name}", get(accounts::get_user))
        .route("/people/follow", post(people::follow_person))
        .route("/people/unfollow", post(people::unfollow_person))
        .route("/me/following", get(people::following))
        .route("/admin/registrations", get(accounts::pending_registrations))
        .route(
            "/admin/registrations/{username}/approve",
            post(accounts::approve_registration),
        )
        .route(
            "/admin/registrations/{username}/reject",
            post(accounts::reject_registration),
        )
        .route(
            "/communities",
            post(communities::create_community).get(communities::list_communities),
        )
        .route("/communities/follow", post(communities::follow_community))
        .route(
            "/communities/unfollow",
            post(communities::unfollow_community),
        )
        .route("/communities/{name}", get(communities::get_community))
        .route(
            "/communities/{name}/pending-follows",
            get(communities::list_pending_follows).post(communities::decide_pending_follow),
        )
        .route(
            "/communities/{name}/join",
            post(communities::join_community),
        )
        .route(
            "/communities/{name}/leave",
            post(communities::leave_community),
        )
        .route(
            "/communities/{name}/members",
            get(communities::list_members),
        )
        .route(
            "/communities/{name}/join-requests",
            get(communities::list_join_requests),
        )
        .route(
            "/communities/{name}/join-requests/{username}/approve",
            post(communities::approve_join_request),
        )
        .route(
            "/communities/{name}/join-requests/{username}/reject",
            post(communities::reject_join_request),
        )
        .route("/communities/{name}/invites", post(communities::invite))
        .route("/communities/{name}/posts", get(communities::list_posts))
        .route("/posts", post(posts::create_post))
        .route(
            "/posts/{id}",
            get(posts::get_post)
                .patch(posts::edit_post)
                .delete(posts::delete_post),
        )
        .route("/posts/{id}/vote", post(posts::vote_post))
        .route("/posts/{id}/comments", post(posts::create_comment))
        .route(
            "/comments/{id}",
            get(posts::get_comment)
                .patch(posts::edit_comment)
                .delete(posts::delete_comment),
        )
        .route("/comments/{id}/thread", get(posts::get_comment_thread))
        .route("/comments/{id}/vote", post(posts::vote_comment))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state);
    Router::new().nest("/api/v1", api)
}
