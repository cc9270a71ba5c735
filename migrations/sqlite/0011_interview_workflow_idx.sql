-- Retention keeps the workflows interviews link to (their pages list the steps
-- and link the report): the prune looks them up by workflow.
CREATE INDEX interviews_workflow_idx ON interviews (workflow_id);
