# Offline checks of the rendered VM bootstrap (`terraform test` in this folder).

variables {
  key_vault_name = "kv-lamrl-d-weu"
  allowed_cidr   = "10.40.0.0/22"
}

run "script_reads_the_token_from_key_vault" {
  command = plan

  assert {
    condition     = strcontains(output.script, "https://kv-lamrl-d-weu.vault.azure.net/secrets/vm-agent-token?api-version=7.4")
    error_message = "the script must read the token secret from the vault"
  }
  assert {
    condition     = strcontains(output.script, "-LocalPort 8700 -RemoteAddress 10.40.0.0/22")
    error_message = "the firewall rule must open only the agent port to the node subnet"
  }
  assert {
    condition     = !strcontains(output.script, "$${")
    error_message = "template placeholders left in the script"
  }
  assert {
    condition     = base64decode(output.custom_data) == output.script
    error_message = "custom data must be the script, base64-encoded"
  }
  assert {
    condition     = strcontains(output.command_to_execute, "CustomData.bin") && startswith(output.command_to_execute, "powershell.exe")
    error_message = "the extension must run the custom data as a script"
  }
}

run "custom_port_and_package" {
  command = plan
  variables {
    agent_port    = 9100
    agent_package = "lam-rl[windows]==0.2.0"
    agent_args    = "env serve --host 0.0.0.0 --port 9100"
  }
  assert {
    condition     = strcontains(output.script, "-LocalPort 9100") && strcontains(output.script, "'lam-rl[windows]==0.2.0'") && output.agent_port == 9100
    error_message = "port and package not applied"
  }
}

run "open_to_the_world_rejected" {
  command = plan
  variables {
    allowed_cidr = "0.0.0.0/0"
  }
  expect_failures = [var.allowed_cidr]
}

run "privileged_port_rejected" {
  command = plan
  variables {
    agent_port = 80
  }
  expect_failures = [var.agent_port]
}

run "injection_in_package_rejected" {
  command = plan
  variables {
    agent_package = "lam-rl'; Remove-Item -Recurse C:/; '"
  }
  expect_failures = [var.agent_package]
}
