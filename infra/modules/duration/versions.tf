terraform {
  # The same Terraform as the root configuration; no provider.
  required_version = ">= 1.9.0, < 2.0.0"
}
