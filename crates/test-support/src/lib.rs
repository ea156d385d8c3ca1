//! # The storage port contract
//!
//! Every storage adapter of Tenancy (the in-memory store, Postgres, whatever
//! comes next) must behave the same behind the ports of `domain::ports`. This
//! crate writes that behaviour down once, as plain async functions in
//! [`contract`], each taking the [`StorePorts`] of a fresh, empty store. An
//! adapter's tests run all of them with one line:
//!
//! ```ignore
//! test_support::store_contract!(|| async { StorePorts::all(Arc::new(MemoryStore::new())) });
//! ```
//!
//! A decorator that implements only some ports runs the same suite with its
//! own handles in those fields of [`StorePorts`] and the decorated store's in
//! the others.
//!
//! The macro expands, where it is invoked, to one `#[test]` per case, grouped in
//! one module per port family (`orgs::…`, `tenants::…`, `keys::…`, `audit::…`), so a
//! failure names the rule that broke. The factory runs once per case: an adapter
//! backed by a database hands out a fresh database each time.
//!
//! Each test is a plain `#[test]` that runs its case on a multi-threaded tokio
//! runtime built by [`run_case`] (what `#[tokio::test(flavor = "multi_thread")]`
//! would build), so the invoking crate needs no runtime setup of its own and
//! the concurrency cases race on real threads. The generated modules
//! `use super::*`, so the factory may name what the invoking module imports, or
//! use `crate::` paths.
//!
//! The KMS port has a contract of its own, [`contract::kms`], run with
//! [`kms_contract!`] over a factory of [`KmsUnderTest`]: a KMS whose KEK is
//! fresh, and whatever must live as long as the case (a temporary directory,
//! a local KMS server process).
//!
//! [`fixtures`] has the valid, deterministic values the cases write: fixed time,
//! time-ordered ids minted in sequence, entities with every field filled in, and
//! API keys minted with the real key format from deterministic "entropy".

pub mod contract;
pub mod fixtures;
#[cfg(test)]
mod listing;
pub mod smtp;

use std::future::Future;
use std::sync::Arc;

use domain::kms::Kms;
use domain::ports::{
    ApiKeyStore, AuditLog, CustomDomainStore, DataKeyStore, DeliveryStore, EventLog,
    IdempotencyStore, LibraryStore, MemberStore, NamespaceStore, OrgStore, RegistrationStore,
    SecretStore, SettingsStore, TenantStore, WebhookStore,
};

/// Every storage port at once: what a complete storage adapter implements.
pub trait Stores:
    OrgStore
    + TenantStore
    + NamespaceStore
    + ApiKeyStore
    + AuditLog
    + EventLog
    + WebhookStore
    + DeliveryStore
    + MemberStore
    + SettingsStore
    + CustomDomainStore
    + LibraryStore
    + DataKeyStore
    + SecretStore
    + IdempotencyStore
    + RegistrationStore
    + 'static
{
}

impl<T> Stores for T where
    T: OrgStore
        + TenantStore
        + NamespaceStore
        + ApiKeyStore
        + AuditLog
        + EventLog
        + WebhookStore
        + DeliveryStore
        + MemberStore
        + SettingsStore
        + CustomDomainStore
        + LibraryStore
        + DataKeyStore
        + SecretStore
        + IdempotencyStore
        + RegistrationStore
        + 'static
{
}

/// The storage ports a contract case writes and reads through, one handle per
/// port family. A complete store fills every field with itself
/// ([`StorePorts::all`]); a decorator that implements only some ports (the
/// verification cache wraps `tenants` and `keys`) fills those fields with
/// itself and the others with the store it decorates:
///
/// ```ignore
/// let inner = Arc::new(MemoryStore::new());
/// let cached = Arc::new(CachedStore::new(inner.clone(), CacheLimits::default(), clock));
/// StorePorts { tenants: cached.clone(), keys: cached.clone(), settings: cached, ..StorePorts::all(inner) }
/// ```
///
/// The handles must share one state: a case writes through one port and reads
/// what it wrote through another.
#[derive(Clone)]
pub struct StorePorts {
    pub orgs: Arc<dyn OrgStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub namespaces: Arc<dyn NamespaceStore>,
    pub keys: Arc<dyn ApiKeyStore>,
    pub audit: Arc<dyn AuditLog>,
    pub events: Arc<dyn EventLog>,
    pub webhooks: Arc<dyn WebhookStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub members: Arc<dyn MemberStore>,
    pub settings: Arc<dyn SettingsStore>,
    pub custom_domains: Arc<dyn CustomDomainStore>,
    pub library: Arc<dyn LibraryStore>,
    pub data_keys: Arc<dyn DataKeyStore>,
    pub secrets: Arc<dyn SecretStore>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub registrations: Arc<dyn RegistrationStore>,
}

impl StorePorts {
    /// Every port served by one store.
    pub fn all<S: Stores>(store: Arc<S>) -> Self {
        Self {
            orgs: store.clone(),
            tenants: store.clone(),
            namespaces: store.clone(),
            keys: store.clone(),
            audit: store.clone(),
            events: store.clone(),
            webhooks: store.clone(),
            deliveries: store.clone(),
            members: store.clone(),
            settings: store.clone(),
            custom_domains: store.clone(),
            library: store.clone(),
            data_keys: store.clone(),
            secrets: store.clone(),
            idempotency: store.clone(),
            registrations: store,
        }
    }
}

/// Runs one contract case on the ports made by `factory`, on a multi-threaded
/// runtime so the concurrency cases race for real. The test macro calls this;
/// building the runtime here keeps adapters free of runtime setup.
pub fn run_case<F, Made, C, Ran>(factory: F, case: C)
where
    F: FnOnce() -> Made,
    Made: Future<Output = StorePorts>,
    C: FnOnce(StorePorts) -> Ran,
    Ran: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime for the contract case");
    runtime.block_on(async {
        let ports = factory().await;
        case(ports).await;
    });
}

/// Expands to the whole contract suite: one test per case, one module per port
/// family. `$factory` is a closure (or function) taking nothing and returning a
/// future of [`StorePorts`] over a fresh, empty store per call
/// (`StorePorts::all(store)` for a store that implements every port).
///
/// The list below is the suite; a case written in [`contract`] runs only once it
/// is named here.
#[macro_export]
macro_rules! store_contract {
    ($factory:expr $(,)?) => {
        $crate::__store_contract_tests! {
            $factory;
            orgs {
                created_org_is_found_by_id_and_by_key,
                orgs_that_do_not_exist_are_none,
                creating_an_org_with_a_used_key_is_taken_and_writes_nothing,
                orgs_are_listed_in_id_order_after_a_cursor_up_to_a_limit,
                updating_an_org_from_its_current_version_replaces_it,
                updating_an_org_from_a_stale_version_is_refused_and_writes_nothing,
            }
            tenants {
                provisioned_tenant_is_found_by_id_and_by_key_with_its_namespaces,
                tenants_that_do_not_exist_are_none,
                provisioning_a_used_tenant_key_is_taken_and_writes_nothing,
                tenant_keys_are_unique_across_orgs,
                duplicate_namespace_keys_in_one_provisioning_are_taken_and_write_nothing,
                a_tombstone_keeps_its_tenant_key,
                updating_a_tenant_from_its_current_version_replaces_it,
                updating_a_tenant_from_a_stale_version_is_refused_and_writes_nothing,
                a_tombstone_purges_the_tenants_namespaces_and_no_others,
                a_stale_tombstone_purges_nothing,
                retention_expired_lists_only_deactivated_tenants_whose_retention_ended,
                retention_expired_is_oldest_first_and_honours_the_limit,
            }
            inventory {
                inventory_hides_tombstones_unless_a_status_asks_for_them,
                inventory_filters_by_org_region_plan_and_metadata,
                inventory_search_matches_names_case_insensitively_keys_and_exact_ids,
                inventory_sorts_by_creation_and_by_name_in_both_directions,
                inventory_resumes_after_a_position_without_skips_or_repeats,
                inventory_returns_at_most_the_fetch_limit,
            }
            namespaces {
                created_namespace_is_found_by_id_and_by_key_within_its_tenant,
                namespace_key_used_in_the_tenant_is_taken_and_writes_nothing,
                the_same_namespace_key_is_allowed_in_another_tenant,
                another_tenants_namespace_is_none_by_id_and_by_key,
                namespaces_are_listed_in_id_order_after_a_cursor_up_to_a_limit,
                updating_a_namespace_from_its_current_version_replaces_it,
                updating_a_namespace_from_a_stale_version_is_refused_and_writes_nothing,
            }
            keys {
                created_namespace_key_is_found_by_hash_with_its_tenant_and_namespace,
                created_org_key_is_found_by_hash_without_a_tenant_or_namespace,
                unknown_hashes_are_not_found,
                keys_are_found_by_id_only_within_their_org,
                keys_are_listed_by_owner_in_id_order_after_a_cursor_up_to_a_limit,
                revoking_a_key_from_its_current_version_replaces_it_with_one_audit_record,
                updating_a_key_from_a_stale_version_is_refused_and_writes_nothing,
                rotating_a_key_replaces_the_old_and_inserts_the_new_with_one_audit_record,
                rotating_from_a_stale_version_writes_nothing,
                recorded_usage_keeps_the_latest_time_ignores_unknown_keys_and_writes_no_audit,
                creating_a_key_whose_namespace_or_org_does_not_exist_is_stale_and_writes_nothing,
                keys_for_a_tenant_that_is_not_active_or_for_another_tenants_namespace_are_stale,
                provisioned_keys_are_found_by_hash_with_their_tenant_and_namespace,
                a_failed_provisioning_leaves_none_of_its_keys,
                key_lookups_carry_the_tenants_current_status,
                deactivating_a_tenant_revokes_all_its_keys_at_the_change_and_no_others,
                restoring_a_deactivated_tenant_does_not_bring_its_keys_back,
                key_writes_read_before_a_deactivation_are_stale_and_revive_nothing,
                a_tombstone_purges_the_tenants_keys_and_no_others,
                a_stale_tenant_update_revokes_and_purges_no_keys,
            }
            audit {
                audit_records_are_listed_in_the_order_written_not_in_id_order,
                audit_records_are_filtered_by_org_and_by_tenant,
                audit_records_resume_after_a_record_up_to_a_limit,
                every_successful_write_appends_exactly_its_own_audit_record,
                failed_writes_append_no_audit_record,
                audit_records_outlive_the_tenant_they_are_about,
                an_appended_record_joins_the_trail_and_is_refused_outside_its_scope,
                sealed_details_are_stored_and_read_back_exactly_beside_clear_ones,
            }
            audit_chain {
                every_store_links_each_orgs_records_as_the_domain_defines_the_chain,
                a_tenant_scope_reads_only_its_own_links_of_the_orgs_chain,
                audit_events_are_filtered_by_tenant_action_actor_and_time,
                concurrent_writers_of_one_org_leave_a_gapless_chain_that_verifies,
            }
            scopes {
                a_tenant_scope_sees_its_own_rows_and_nothing_of_other_tenants,
                an_org_scope_sees_its_org_and_nothing_of_other_orgs,
                writes_outside_the_scope_are_refused_and_write_nothing,
            }
            library {
                resource_versions_are_stored_with_their_history_and_the_greatest_is_latest,
                a_resource_version_that_exists_or_follows_a_stale_latest_writes_nothing,
                the_resource_limit_counts_distinct_keys_over_the_whole_tenant,
                another_tenants_resources_and_installs_are_invisible_and_untouchable,
                publishing_inserts_a_listing_then_versions_it_with_its_grants,
                a_used_listing_key_a_stored_version_or_a_stale_listing_writes_nothing,
                granted_listings_follow_grants_by_org_and_namespace_key,
                a_tenant_reads_versions_while_granted_or_installed,
                installs_are_unique_per_listing_and_key_and_upgrade_from_their_version,
                library_writes_for_a_tenant_that_is_not_active_are_stale,
                a_tombstone_purges_the_tenants_resources_and_installs_and_no_others,
            }
            data_keys {
                data_keys_are_listed_for_rewrap_and_replaced_only_from_their_stored_value,
                data_keys_are_counted_by_kek_and_version_over_every_tenant,
                an_org_data_key_is_stored_once_and_seen_by_its_org_only,
                org_data_keys_are_listed_for_rewrap_and_replaced_only_from_their_stored_value,
                org_data_keys_are_counted_by_kek_and_version_over_every_org,
            }
            secrets {
                provisioning_stores_the_data_key_and_a_tombstone_destroys_it_with_the_secrets,
                a_secret_is_stored_replaced_and_deleted_by_version_with_its_audit_records,
                revealing_a_secret_appends_its_audit_record_and_a_missing_one_appends_nothing,
                secrets_are_listed_in_name_order_after_a_cursor_up_to_a_limit,
                secret_writes_for_a_tenant_that_is_not_active_are_stale_and_write_nothing,
                a_new_data_key_is_stored_with_a_secret_only_for_a_tenant_without_one,
                another_tenants_secrets_and_data_key_are_invisible_and_untouchable,
            }
            idempotency {
                a_claim_holds_its_key_until_completed_and_then_returns_the_response,
                a_lapsed_claim_yields_to_its_retry_and_an_expired_record_to_anyone,
                releasing_frees_the_key_for_the_holder_only,
                another_orgs_records_are_invisible_and_untouchable,
                purging_deletes_records_past_their_window_only,
                a_tombstone_purges_the_responses_about_its_tenant_and_no_others,
                completing_a_claim_about_a_deleted_or_foreign_tenant_is_stale,
            }
            events {
                every_audited_change_writes_exactly_its_event_in_the_order_written,
                failed_and_refused_changes_write_no_event,
                events_resume_after_an_event_and_filter_by_type_time_and_scope,
            }
            webhooks {
                an_endpoint_is_stored_read_back_exactly_and_listed_by_org_in_id_order,
                endpoint_updates_and_deletions_go_by_version_with_one_audit_record_each,
                another_orgs_endpoints_are_invisible_and_untouchable,
            }
            deliveries {
                fan_out_queues_one_message_per_subscribed_enabled_endpoint_once,
                claims_take_each_endpoints_oldest_pending_message_until_its_lease_ends,
                a_batch_claim_takes_an_endpoints_oldest_messages_in_order_until_recorded,
                recording_attempts_moves_messages_and_endpoints_and_a_disable_is_audited,
                redelivery_and_recovery_requeue_exactly_the_chosen_messages,
                old_events_are_purged_with_their_finished_messages_and_pending_ones_stay,
                concurrent_claimers_never_take_one_message_twice,
            }
            members {
                members_are_stored_read_back_exactly_and_listed_in_user_id_order,
                a_user_is_in_a_tenant_once_and_the_quota_counts_the_owner,
                member_updates_and_removals_go_by_version_with_one_audit_record_each,
                a_transfer_moves_the_owner_and_the_rows_together_or_not_at_all,
                concurrent_adds_never_pass_the_members_quota,
                another_tenants_members_are_invisible_and_untouchable,
                a_deleted_tenants_members_are_purged_with_it,
            }
            registrations {
                a_registration_is_claimed_once_read_back_exactly_and_never_after_it_expires,
                a_claim_is_given_back_only_by_the_claim_that_took_it,
                concurrent_claims_of_one_token_let_exactly_one_win,
                registrations_are_an_orgs_own_and_refused_outside_its_scope,
                expired_registrations_are_purged_oldest_first_and_live_ones_stay,
            }
            settings {
                documents_are_written_by_version_and_read_back_per_owner_and_group,
                another_orgs_and_tenants_documents_are_invisible_and_untouchable,
                a_deleted_tenants_documents_are_purged_with_it,
                key_lookups_carry_the_tenants_current_ip_allowlist,
            }
            domains {
                a_domain_is_one_tenants_and_written_by_version,
                due_domains_are_the_pending_ones_whose_check_is_due_in_order,
                only_a_verified_domain_names_its_tenant,
                another_orgs_and_tenants_domains_are_invisible_and_untouchable,
                a_deleted_tenants_domain_is_purged_with_it,
            }
            concurrency {
                concurrent_provisions_of_one_tenant_key_let_exactly_one_win,
                concurrent_updates_from_one_version_let_exactly_one_win,
                concurrent_creations_of_one_namespace_key_let_exactly_one_win,
                concurrent_revocations_of_one_key_version_let_exactly_one_win,
                concurrent_rotations_of_one_key_version_let_exactly_one_new_key_in,
            }
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_contract_tests {
    ($factory:expr; $($family:ident { $($case:ident),+ $(,)? })+) => {
        $(
            mod $family {
                #[allow(unused_imports)]
                use super::*;

                $(
                    #[test]
                    fn $case() {
                        $crate::run_case($factory, $crate::contract::$family::$case);
                    }
                )+
            }
        )+
    };
}

/// A KMS for one contract case, and what it needs kept alive until the case
/// ends (dropped after the case, even when it panics).
pub struct KmsUnderTest {
    pub kms: Arc<dyn Kms>,
    pub guard: Box<dyn std::any::Any + Send>,
}

impl KmsUnderTest {
    /// A KMS that needs nothing kept alive.
    pub fn new(kms: Arc<dyn Kms>) -> Self {
        Self::with_guard(kms, ())
    }

    pub fn with_guard(kms: Arc<dyn Kms>, guard: impl std::any::Any + Send) -> Self {
        Self {
            kms,
            guard: Box::new(guard),
        }
    }
}

/// Runs one KMS contract case on the KMS made by `factory`, on a tokio runtime
/// built here (the AWS SDK needs one), like [`run_case`].
pub fn run_kms_case<F, Made, C, Ran>(factory: F, case: C)
where
    F: FnOnce() -> Made,
    Made: Future<Output = KmsUnderTest>,
    C: FnOnce(Arc<dyn Kms>) -> Ran,
    Ran: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime for the KMS contract case");
    runtime.block_on(async {
        let under_test = factory().await;
        case(Arc::clone(&under_test.kms)).await;
        drop(under_test);
    });
}

/// Expands to the KMS contract: one `#[test]` per case of [`contract::kms`],
/// in a module `kms_contract`. `$factory` takes nothing and returns a future
/// of [`KmsUnderTest`] with a fresh KEK (version 1) per call.
#[macro_export]
macro_rules! kms_contract {
    ($factory:expr $(,)?) => {
        $crate::__kms_contract_tests! {
            $factory;
            a_generated_key_unwraps_to_itself_under_its_context,
            a_key_wrapped_for_one_context_does_not_unwrap_under_another,
            a_tampered_ciphertext_is_undecryptable,
            an_envelope_naming_an_unknown_version_or_kek_is_refused,
            after_a_rotation_old_keys_unwrap_and_rewrap_to_the_new_version,
            rewrapping_at_the_current_version_keeps_the_key,
            retiring_the_current_version_is_refused_and_changes_nothing,
            key_material_never_reaches_debug_output_or_errors,
        }
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __kms_contract_tests {
    ($factory:expr; $($case:ident),+ $(,)?) => {
        mod kms_contract {
            #[allow(unused_imports)]
            use super::*;

            $(
                #[test]
                fn $case() {
                    $crate::run_kms_case($factory, $crate::contract::kms::$case);
                }
            )+
        }
    };
}
