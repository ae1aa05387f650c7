# Remote state of the dev environment: terraform init -backend-config=environments/dev.backend.hcl
# The storage account holding state is created once, before the first run (see book/infrastructure.md),
# in its own resource group so that no environment can delete its own state.
resource_group_name  = "rg-taxi-tfstate"
storage_account_name = "sttaxitfstate"
container_name       = "tfstate"
key                  = "taxi-dev.tfstate"
# Entra ID (OIDC in the pipelines, the Azure CLI on a laptop), never a storage account key.
use_azuread_auth = true
