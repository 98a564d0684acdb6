package storetest

import (
	"encoding/json"
	"strings"

	"github.com/aufsmount/aufsmount/internal/chainid"
	"github.com/aufsmount/aufsmount/layerstore/imagetar"
)

// writeLegacy adds the legacy directories of an image whose config is
// config and whose layers' tars are tars (diff ids diffIDs), base first,
// as Docker before 1.10 saved them and as our save writes them
// (layerstore/save): a lower layer's json has only "created" (the epoch)
// and "os", the top's the config's V1Image fields, each with its "id"
// (Docker's v1.CreateID) and "parent". It returns the top's v1 id and
// the image id docker load gives the chain: the sha256 of the config
// Docker 1.10's migration makes of the top json (the same functions).
func writeLegacy(config []byte, diffIDs []string, tars [][]byte, add func(archiveFile)) (top, imageID string, err error) {
	topV, err := imagetar.TopV1(config)
	if err != nil {
		return "", "", err
	}
	chains := chainid.All(diffIDs)
	hist := make([]imagetar.History, len(tars))
	var js []byte
	parent := ""
	for i, t := range tars {
		v := imagetar.LowerV1()
		if i == len(tars)-1 {
			v = topV
		}
		v.OS = "linux"
		id, err := imagetar.V1ID(v, chains[i], parent)
		if err != nil {
			return "", "", err
		}
		v.ID, v.Parent = id, parent
		if js, err = json.Marshal(v); err != nil {
			return "", "", err
		}
		if hist[i], err = imagetar.HistoryFromV1(js); err != nil {
			return "", "", err
		}
		add(archiveFile{name: id + "/VERSION", data: []byte("1.0")})
		add(archiveFile{name: id + "/json", data: js})
		add(archiveFile{name: id + "/layer.tar", data: t})
		parent = id
	}
	made, err := imagetar.MakeConfigFromV1(js, diffIDs, hist)
	if err != nil {
		return "", "", err
	}
	return parent, strings.TrimPrefix(imagetar.Digest(made), "sha256:"), nil
}
