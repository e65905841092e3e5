"""The Kubernetes client that the operator and the gateway share.

`rawjson` sends requests with raw JSON bodies and reads raw JSON answers over a
kubernetes_asyncio `ApiClient`, which still brings the configuration and the authentication.
Only the operator and the gateway import this package (import-linter checks it): its
kubernetes_asyncio comes with their extras, never with the runner's slim install, the client or
`core`.
"""
