# Offline checks of the address plan (`terraform test` in this folder).

variables {
  address_space = "10.40.0.0/16"
}

run "default_plan" {
  command = plan

  assert {
    condition     = output.subnets.aks_nodes == "10.40.0.0/22"
    error_message = "aks_nodes subnet: ${output.subnets.aks_nodes}"
  }
  assert {
    condition     = output.subnets.vms == "10.40.4.0/24"
    error_message = "vms subnet: ${output.subnets.vms}"
  }
  assert {
    condition     = output.subnets.endpoints == "10.40.5.0/27"
    error_message = "endpoints subnet: ${output.subnets.endpoints}"
  }
  assert {
    condition     = output.usable_addresses.aks_nodes == 1019 && output.usable_addresses.vms == 251
    error_message = "Azure keeps 5 addresses per subnet"
  }
  assert {
    condition     = output.dns_service_ip == "172.16.0.10"
    error_message = "dns service ip: ${output.dns_service_ip}"
  }
}

run "small_vnet_still_fits" {
  command = plan
  variables {
    address_space   = "10.1.0.0/22"
    subnet_prefixes = { aks_nodes = 23, vms = 24, endpoints = 28 }
  }
  assert {
    condition     = output.subnets.aks_nodes == "10.1.0.0/23" && output.subnets.vms == "10.1.2.0/24" && output.subnets.endpoints == "10.1.3.0/28"
    error_message = "subnets: ${jsonencode(output.subnets)}"
  }
}

run "subnets_larger_than_the_vnet_fail" {
  command = plan
  variables {
    address_space   = "10.1.0.0/22"
    subnet_prefixes = { aks_nodes = 22, vms = 24, endpoints = 28 }
  }
  expect_failures = [output.subnets]
}

run "pod_cidr_overlapping_the_vnet_fails" {
  command = plan
  variables {
    pod_cidr = "10.40.128.0/17"
  }
  expect_failures = [output.subnets]
}

run "service_cidr_overlapping_pods_fails" {
  command = plan
  variables {
    service_cidr = "192.168.10.0/24"
  }
  expect_failures = [output.subnets]
}

run "host_bits_set_rejected" {
  command = plan
  variables {
    address_space = "10.40.1.0/16"
  }
  expect_failures = [var.address_space]
}

run "too_small_vnet_rejected" {
  command = plan
  variables {
    address_space = "10.40.0.0/26"
  }
  expect_failures = [var.address_space]
}

run "subnet_smaller_than_azure_minimum_rejected" {
  command = plan
  variables {
    subnet_prefixes = { aks_nodes = 22, vms = 24, endpoints = 30 }
  }
  expect_failures = [var.subnet_prefixes]
}
