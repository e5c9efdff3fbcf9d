# Offline checks of the VM endpoint list (`terraform test` in this folder).

run "two_vms" {
  command = plan
  variables {
    ips  = ["10.40.4.5", "10.40.4.4"]
    port = 8700
  }
  assert {
    condition     = output.urls == ["http://10.40.4.4:8700", "http://10.40.4.5:8700"]
    error_message = "urls: ${jsonencode(output.urls)}"
  }
  assert {
    condition     = output.fleet_override == "fleet.vms=['http://10.40.4.4:8700','http://10.40.4.5:8700']"
    error_message = "override: ${output.fleet_override}"
  }
}

run "no_vms" {
  command = plan
  variables {
    ips  = []
    port = 8700
  }
  assert {
    condition     = output.fleet_override == "fleet.vms=[]"
    error_message = "override: ${output.fleet_override}"
  }
}

run "bad_address_rejected" {
  command = plan
  variables {
    ips  = ["10.40.4.999"]
    port = 8700
  }
  expect_failures = [var.ips]
}
