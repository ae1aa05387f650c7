terraform {
  # Cross-variable validation (variables.tf) needs 1.9.
  required_version = ">= 1.9.0, < 2.0.0"

  required_providers {
    azurerm = {
      source = "hashicorp/azurerm"
      # 4.42 introduced the key vault's `rbac_authorization_enabled`; stay on major version 4.
      version = "~> 4.42"
    }
  }
}
