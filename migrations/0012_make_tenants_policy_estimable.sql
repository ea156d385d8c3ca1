-- The same rule as `tenants_isolation` in 0004, written so that the planner can
-- estimate it. As an OR of `(SELECT current_setting(...)) = 'platform'` and the
-- other scopes, each comparison of a value known only at run time gets the
-- default selectivity of an equality (0.5%), so every inventory estimate came
-- out about 200 times too small: a filter matching 100,000 tenants looked like
-- a few hundred, and the planner collected all of them through the trigram or
-- jsonb index and sorted them instead of walking the index in page order until
-- the page was full. A CASE on the scope is one boolean expression, estimated
-- at one half whatever the scope, which leaves the estimates of the real
-- filters in charge.
--
-- Who sees what does not change: platform scope sees all; org scope its org's
-- tenants; tenant scope itself; a missing, empty or unknown scope nothing (the
-- ELSE, and a NULL id compares to NULL, which is not true). The expression is
-- also the check on written rows, as before.
ALTER POLICY tenants_isolation ON tenants USING (
    CASE (SELECT current_setting('app.scope', true))
        WHEN 'platform' THEN true
        WHEN 'org' THEN
            org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
        WHEN 'tenant' THEN
            org_id = (SELECT nullif(current_setting('app.current_org_id', true), '')::uuid)
            AND id = (SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid)
        ELSE false
    END
);
