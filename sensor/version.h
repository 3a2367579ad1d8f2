/* Version information of the sensor. */
#ifndef OTASUKE_SENSOR_VERSION_H
#define OTASUKE_SENSOR_VERSION_H

/* Returns a static line naming the sensor's and its libraries' versions. */
const char *sensor_version_string(void);

#endif
