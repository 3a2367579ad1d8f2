/* Version string of the sensor and the libraries it was built with. */
#include "version.h"

#include <ndpi/ndpi_api.h>
#include <pcap/pcap.h>
#include <yaml.h>

#include <stdio.h>

const char *sensor_version_string(void)
{
    static char buf[256];
    snprintf(buf, sizeof(buf), "otasuke-sensor %s (%s, nDPI %s, libyaml %s)", OTASUKE_VERSION,
             pcap_lib_version(), ndpi_revision(), yaml_get_version_string());
    return buf;
}
