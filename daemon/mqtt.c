/* placeholder: being written in this session */
typedef int iocd_placeholder_mqtt;
