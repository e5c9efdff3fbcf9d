# Offline checks of the naming rules (`terraform test` in this folder).

variables {
  project     = "lamrl"
  environment = "dev"
  location    = "westeurope"
}

run "standard_names" {
  command = plan

  assert {
    condition     = output.names.resource_group == "rg-lamrl-dev-weu"
    error_message = "resource group name: ${output.names.resource_group}"
  }
  assert {
    condition     = output.names.storage_account == "stlamrldweu"
    error_message = "storage account name: ${output.names.storage_account}"
  }
  assert {
    condition     = output.names.key_vault == "kv-lamrl-d-weu"
    error_message = "key vault name: ${output.names.key_vault}"
  }
  assert {
    condition     = length(output.names.vm_computer_name) <= 9
    error_message = "Windows computer name prefixes are at most 9 characters: ${output.names.vm_computer_name}"
  }
  assert {
    condition     = output.tags["managed-by"] == "terraform" && output.tags.environment == "dev"
    error_message = "standard tags missing"
  }
}

run "suffix_goes_into_global_names" {
  command = plan
  variables {
    suffix = "x7"
  }
  assert {
    condition     = output.names.storage_account == "stlamrldweux7" && output.names.key_vault == "kv-lamrl-d-weu-x7"
    error_message = "suffix not applied: ${output.names.storage_account} ${output.names.key_vault}"
  }
}

run "longest_inputs_still_fit_azure_limits" {
  command = plan
  variables {
    project     = "abcdefgh"
    environment = "staging"
    location    = "germanywestcentral"
    suffix      = "wxyz"
  }
  assert {
    condition     = length(output.names.storage_account) <= 24 && length(output.names.key_vault) <= 24
    error_message = "global names too long: ${output.names.storage_account} ${output.names.key_vault}"
  }
}

run "rejects_upper_case_project" {
  command = plan
  variables {
    project = "LamRL"
  }
  expect_failures = [var.project]
}

run "rejects_unknown_environment" {
  command = plan
  variables {
    environment = "qa"
  }
  expect_failures = [var.environment]
}

run "rejects_unknown_region" {
  command = plan
  variables {
    location = "moon-1"
  }
  expect_failures = [var.location]
}
