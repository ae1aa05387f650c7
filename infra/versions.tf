terraform {
  # Cross-variable validation (variables.tf) needs 1.9.
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.77 added the workspace's `storage_account_access_type` (4.45 the storage account's SAS
      # `expiration_action = "Block"`, 4.42 the key vault's `rbac_authorization_enabled`); stay on
      # major version 4. infra/.terraform.lock.hcl pins the exact version the pipelines install.
      version = "~> 4.77"
    }
    # The shared Azure ML registry (registry.tf): azurerm 4.x has no resource for it
    # (hashicorp/terraform-provider-azurerm#22565; the resource is PR #32613, not merged), so it is
    # created through the ARM API with azapi, the provider Microsoft maintains for such gaps.
    azapi = {
      source  = "Azure/azapi"
      version = "~> 2.5"
    }
  }
}
