# Remote state in Azure Storage, one state file per environment: `terraform init
# -backend-config=environments/<env>.backend.hcl`. Authenticated with Entra ID (OIDC in the
# pipelines, `az login` on a laptop), never with a storage key.
terraform {
  backend "azurerm" {}
}
