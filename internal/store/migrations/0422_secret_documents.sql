-- The few secret documents (mật, tối mật, tuyệt mật) of an organization,
-- where the "named on it as a reviewer" visibility rule starts. A partial
-- index: ordinary documents, nearly all of them, are not in it.
CREATE INDEX documents_secret ON documents(org_id) WHERE confidentiality <> 'thuong';
