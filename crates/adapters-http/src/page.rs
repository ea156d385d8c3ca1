//! Keyset pagination on the wire: `?cursor=&limit=` in, `{items, nextCursor}` out.

use domain::{Cursor, Limit, Page};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::extract::QueryParams;
use crate::problem::FieldError;

/// One page of a listing.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListBody<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl<T> ListBody<T> {
    pub(crate) fn from_page<D>(page: Page<D>, view: impl FnMut(D) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(view).collect(),
            next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
        }
    }

    pub(crate) fn empty() -> Self {
        Self {
            items: Vec::new(),
            next_cursor: None,
        }
    }
}

/// Where a page starts and how long it is.
#[derive(Debug)]
pub(crate) struct PageRequest {
    pub cursor: Option<Cursor>,
    pub limit: Limit,
}

impl PageRequest {
    /// Takes `cursor` and `limit` from the query string.
    pub(crate) fn take(query: &mut QueryParams) -> Self {
        let cursor = query.take("cursor").map(Cursor::from_raw);
        let limit = query
            .parse("limit", |raw| {
                raw.parse::<u64>()
                    .ok()
                    .and_then(|n| Limit::new(n).ok())
                    .ok_or(LIMIT_MESSAGE)
            })
            .unwrap_or_default();
        Self { cursor, limit }
    }
}

const LIMIT_MESSAGE: &str = "must be a whole number from 1 to 200";

/// The field error of a bad `limit`.
pub(crate) fn limit_error() -> FieldError {
    FieldError {
        field: "limit".to_owned(),
        message: LIMIT_MESSAGE.to_owned(),
    }
}

/// A query parameter for the OpenAPI document.
pub(crate) fn query_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// `cursor` and `limit`, documented.
pub(crate) fn page_parameters() -> Vec<Parameter> {
    let mut limit = query_parameter("limit", "Items per page, 1 to 200; 50 when absent.");
    limit.schema = Some(
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(200))
            .default(Some(50.into()))
            .into(),
    );
    vec![
        query_parameter(
            "cursor",
            "The `nextCursor` of the previous page; absent for the first page.",
        ),
        limit,
    ]
}

/// Documents `?cursor=&limit=` for endpoints that take nothing else. Never
/// built: it only names the parameters in `#[utoipa::path]`.
#[derive(Debug)]
pub(crate) enum PageParams {}

impl utoipa::IntoParams for PageParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        page_parameters()
    }
}
